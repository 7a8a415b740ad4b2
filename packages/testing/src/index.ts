export { freePort } from "./free-port.js";
export { type TestInfrastructure, testInfrastructure } from "./infrastructure.js";
export { natsServerMissing, startPrivateNats } from "./private-nats.js";
export { type PrivateServerOptions, startPrivatePostgres } from "./private-postgres.js";
export type { PrivateServer } from "./private-server.js";
export { type StockClient, stockGrpcClient } from "./stock-grpc-client.js";
export { createTestDatabase, type TestDatabase, useTestDatabase } from "./test-database.js";
export { createTestNats, type TestNats, useTestNats } from "./test-nats.js";
export { type WaitForOptions, waitFor } from "./wait-for.js";
