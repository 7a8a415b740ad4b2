import { runService } from "@shopmesh/runtime";
import { onShutdownSignal } from "@shopmesh/server";
import { inventoryService } from "./service.js";

const service = await runService(inventoryService, process.env);
onShutdownSignal(service.logger, service.close);
