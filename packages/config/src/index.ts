export { z } from "zod";
export { ConfigError, loadConfig } from "./load-config.js";
export { commaList, grpcTarget, hostPort, positiveInt, urlWithScheme } from "./variables.js";
