import { runService } from "@shopmesh/runtime";
import { onShutdownSignal } from "@shopmesh/server";
import { orderService } from "./service.js";

const service = await runService(orderService);
onShutdownSignal(service.logger, service.close);
