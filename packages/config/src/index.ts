export { z } from "zod";
export { ConfigError, loadConfig } from "./load-config.js";
export { commaList, grpcTarget, hostPort, positiveInt, urlWithScheme, webOrigins } from "./variables.js";
