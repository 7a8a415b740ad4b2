import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./app.js";
import { loadConfig } from "./config.js";
import { takeSignInAnswer } from "./session.js";
import { startTracing } from "./tracing.js";
import "./styles.css";

// First of all: the sign-in answer's one-time code must leave the address before any request.
const signInAnswer = takeSignInAnswer(window);
const root = document.getElementById("root");
if (root) {
  const config = await loadConfig();
  startTracing(config);
  createRoot(root).render(
    <StrictMode>
      <App config={config} signInAnswer={signInAnswer} />
    </StrictMode>,
  );
}
