// The chat's tool calls: a folded block per call (name and input, then its result), and the
// "Run it / Don't run" prompt for a shell call waiting for approval. Used by chat.client.js; every text
// goes in with textContent, never as HTML.
(() => {
  function create(log, scrollDown, answerApproval) {
    function describeInput(name, toolInput) {
      if (!toolInput || typeof toolInput !== "object") return "";
      if (name === "shell" && typeof toolInput.command === "string") return toolInput.command;
      if (typeof toolInput.path === "string") return toolInput.path;
      if (typeof toolInput.url === "string") return toolInput.url;
      return JSON.stringify(toolInput);
    }

    /** One tool call: its name and input, then its result (folded) once it arrives. */
    function toolBlock(callId, name, toolInput) {
      document.getElementById("chat-empty")?.remove();
      const el = document.createElement("details");
      el.className = "msg msg-tool";
      el.dataset.callId = callId || "";
      el.dataset.tool = name || "";
      el.dataset.status = "running";
      const summary = document.createElement("summary");
      const label = document.createElement("strong");
      label.textContent = name || "tool";
      const code = document.createElement("code");
      code.className = "tool-input";
      code.textContent = describeInput(name, toolInput);
      summary.append(label, " ", code);
      el.append(summary);
      log.append(el);
      scrollDown();
      return el;
    }

    function findTool(callId) {
      for (const el of log.querySelectorAll(".msg-tool")) if (el.dataset.callId === callId) return el;
      return null;
    }

    function toolResult(el, resultStatus, output) {
      el.dataset.status = resultStatus || "ok";
      el.querySelector(".tool-approval")?.remove();
      const pre = document.createElement("pre");
      pre.className = "tool-output";
      pre.textContent = output || "";
      const tag = document.createElement("span");
      tag.className = "msg-meta tool-status";
      tag.textContent = resultStatus === "denied" ? "not run" : resultStatus === "error" ? "failed" : "done";
      el.querySelector("summary")?.append(" ", tag);
      el.append(pre);
      scrollDown();
    }

    function approvalPrompt(el, approvalId) {
      el.open = true;
      el.dataset.status = "waiting";
      const box = document.createElement("div");
      box.className = "tool-approval";
      const question = document.createElement("p");
      question.textContent = "Run this command in your container?";
      const yes = document.createElement("button");
      yes.type = "button";
      yes.className = "tool-approve";
      yes.textContent = "Run it";
      const no = document.createElement("button");
      no.type = "button";
      no.className = "secondary tool-decline";
      no.textContent = "Don't run";
      const answer = (approved) => {
        yes.disabled = true;
        no.disabled = true;
        question.textContent = approved ? "Approved." : "Declined.";
        answerApproval(approvalId, approved);
      };
      yes.addEventListener("click", () => answer(true));
      no.addEventListener("click", () => answer(false));
      box.append(question, yes, " ", no);
      el.append(box);
      scrollDown();
      yes.focus();
    }

    return { toolBlock, findTool, toolResult, approvalPrompt };
  }

  window.clawfleetChatTools = { create };
})();
