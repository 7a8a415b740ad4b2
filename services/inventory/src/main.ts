import { runServiceProcess } from "@shopmesh/runtime";
import { inventoryService } from "./service.js";

await runServiceProcess(inventoryService);
