import { defineShopmeshConfig } from "@shopmesh/testing/vitest-preset";

export default defineShopmeshConfig();
