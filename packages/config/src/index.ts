export { z } from "zod";
export { ConfigError, loadConfig } from "./load-config.js";
export { commaList, grpcTarget, hostPort, natsServers, positiveInt, urlWithScheme, webOrigins } from "./variables.js";
