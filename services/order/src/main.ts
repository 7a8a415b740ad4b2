import { runServiceProcess } from "@shopmesh/runtime";
import { orderService } from "./service.js";

await runServiceProcess(orderService);
