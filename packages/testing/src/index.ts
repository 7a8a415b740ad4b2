export { freePort } from "./free-port.js";
export { type TestInfrastructure, testInfrastructure } from "./infrastructure.js";
export { createTestDatabase, type TestDatabase, useTestDatabase } from "./test-database.js";
export { createTestNats, type TestNats, useTestNats } from "./test-nats.js";
export { type WaitForOptions, waitFor } from "./wait-for.js";
