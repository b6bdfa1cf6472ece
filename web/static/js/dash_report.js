// dash_report.js: the print button of the annual report page.
for (const b of document.querySelectorAll('[data-print]')) b.addEventListener('click', () => window.print());
