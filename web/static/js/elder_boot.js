// elder_boot.js: a classic script loaded in <head> (before the page paints)
// that turns on the elder-friendly mode (large type, high contrast; class
// "elder" on <html>) when this device chose it. The switch in the header is
// nav.js; the key is its only other reader and writer.
try {
  if (localStorage.getItem('kepu.elder') === '1') document.documentElement.classList.add('elder');
} catch (e) { /* storage refused (private mode): the normal page */ }
