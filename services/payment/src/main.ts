import { runService } from "@shopmesh/runtime";
import { onShutdownSignal } from "@shopmesh/server";
import { paymentService } from "./service.js";

const service = await runService(paymentService);
onShutdownSignal(service.logger, service.close);
