// What an evaluation leaves: the per-query results file, and the report (pass rates with their
// confidence intervals, labels and behaviour metrics) with its Markdown rendering.
export * from './results.js';
export * from './report.js';
export * from './reportMarkdown.js';
export * from './confidence.js';
