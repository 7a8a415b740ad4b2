import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import { loadConfig } from "./config.js";
import { startTracing } from "./tracing.js";
import "./styles.css";

const root = document.getElementById("root");
if (root) {
  const config = await loadConfig();
  startTracing(config);
  createRoot(root).render(
    <StrictMode>
      <App config={config} />
    </StrictMode>,
  );
}
