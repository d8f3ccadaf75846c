// OPT as Hugging Face's modeling_opt.py computes it (pre-LN and 350m's post-LN families), and its
// config.json parsed and written back.
export * from './opt.js';
export * from './optConfig.js';
