import { runMigrationsProcess } from "@shopmesh/runtime";
import { inventoryService } from "./service.js";

// Kubernetes init container: apply the migrations, then exit (deploy/k8s).
await runMigrationsProcess(inventoryService);
