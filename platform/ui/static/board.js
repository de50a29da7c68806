// Drag and drop on the board: dropping a card on a column posts the card's own "Move to" form with that
// column as the target, then swaps in the board the server answers (with its message when it refused).
// Without this script the buttons do the same; keyboard users use them too.
(() => {
  const columnOf = (node) => node instanceof Element ? node.closest("#board [data-column]") : null;
  let dragged = null;

  document.addEventListener("dragstart", (event) => {
    dragged = event.target instanceof Element ? event.target.closest("[data-card]") : null;
    if (!dragged) return;
    event.dataTransfer.setData("text/plain", dragged.id);
    event.dataTransfer.effectAllowed = "move";
    dragged.classList.add("dragging");
  });
  document.addEventListener("dragend", () => {
    dragged?.classList.remove("dragging");
    document.querySelectorAll(".drop-target").forEach((node) => node.classList.remove("drop-target"));
  });
  document.addEventListener("dragover", (event) => {
    const column = columnOf(event.target);
    if (!dragged || !column || column.contains(dragged)) return;
    event.preventDefault();
    document.querySelectorAll(".drop-target").forEach((node) => node !== column && node.classList.remove("drop-target"));
    column.classList.add("drop-target");
  });
  document.addEventListener("drop", async (event) => {
    const column = columnOf(event.target);
    if (!dragged || !column || column.contains(dragged)) return;
    event.preventDefault();
    const card = dragged;
    const form = card.querySelector("form.card-moves");
    const data = new FormData(form);
    data.set("to", column.dataset.column);
    document.getElementById("board").setAttribute("aria-busy", "true");
    const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const board = page.getElementById("board");
    if (board) document.getElementById("board").replaceWith(board);
    else window.location.assign(response.url);
    document.querySelector(`#${card.id} h3 a`)?.focus();
  });
})();
