/* The book's slide decks (tools/slides.py): start reveal.js, wait for MathJax to typeset every
   slide, then shrink the font of any slide whose content is taller than the slide.
   window.deckState reports the result (tests/test_slides.py reads it). */
(function () {
  "use strict";
  const MIN_FONT = 55; // percent: a slide never gets smaller than this
  const state = (window.deckState = { revealReady: false, mathDone: false, fitted: {}, overflowing: [], ready: false });

  // Too big: taller than the slide, or a formula wider than it. (Not scrollHeight: MathJax's
  // off-screen assistive MathML inflates it.)
  function tooBig(slide, height) {
    if (slide.offsetHeight > height) return true;
    const width = slide.clientWidth;
    return Array.from(slide.querySelectorAll("mjx-container > mjx-math")).some((m) => m.offsetWidth > width);
  }

  function fit() {
    const height = Reveal.getConfig().height;
    Reveal.getSlides().forEach((slide, i) => {
      const display = slide.style.display;
      slide.style.display = "block"; // measure slides that reveal.js keeps hidden
      let size = 100;
      slide.style.fontSize = "";
      while (tooBig(slide, height) && size > MIN_FONT) {
        size -= 5;
        slide.style.fontSize = size + "%";
      }
      if (size < 100) state.fitted[i] = size;
      if (tooBig(slide, height)) state.overflowing.push(i);
      slide.style.display = display;
    });
    Reveal.layout();
  }

  const revealReady = Reveal.initialize({
    hash: true,
    slideNumber: "c/t",
    width: 1200,
    height: 760,
    margin: 0.04,
    center: true,
    transition: "slide",
    plugins: [RevealNotes],  // the speaker view (key S)
  }).then(() => { state.revealReady = true; });

  const mathReady = new Promise((resolve) => {
    const start = () =>
      window.MathJax && MathJax.startup && MathJax.startup.promise
        ? MathJax.startup.promise.then(() => { state.mathDone = true; resolve(); }, (e) => { state.mathError = String(e); resolve(); })
        : resolve();
    if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
    else start();
  });

  Promise.all([revealReady, mathReady]).then(() => {
    fit();
    state.slides = Reveal.getTotalSlides();
    state.ready = true;
  });
})();
