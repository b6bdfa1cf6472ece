// dash_contest.js: a contest's report (runs, questions, players).
import { loadSections } from './dash_charts.js';

const root = document.querySelector('[data-contest]');
loadSections(`/api/v1/dash/contests/${root.dataset.contest}`);
