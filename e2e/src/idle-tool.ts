/** A tool that runs until it is stopped: what tests run through tools/tsx.mjs to see who stops it. */
setInterval(() => {}, 60_000);
console.log("idle tool running");
