import { runServiceProcess } from "@shopmesh/runtime";
import { paymentService } from "./service.js";

await runServiceProcess(paymentService);
