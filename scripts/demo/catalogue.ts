/**
 * The demo's tool catalogue, generated from a seed: invented tools (pseudo-word names) in twelve
 * categories, each tool with three APIs. An API is named for the topic it returns (a noun of its
 * category) and takes two parameters of shared kinds (a city, a number of days, a currency...).
 * Tool names are drawn afresh for every tool, so which function serves a topic cannot be
 * memorised: the model has to find it in the function list of the prompt, which is what lets it
 * call tools it never saw in training (docs/demo.md).
 *
 * Written for kiln; no tool, name or description comes from RapidAPI or ToolBench.
 */
import type { ApiEntry, ApiParameter } from '../../src/toolbench/functions.js';
import { SeededRandom } from '../../src/model/random.js';

/** A kind of parameter: its key, its type, where its values come from, how a query says it. */
export interface ParamKind {
  name: string;
  type: 'STRING' | 'NUMBER';
  description: string;
  values: readonly string[] | { min: number; max: number };
  /** How a query phrases a value, `{v}` standing for it. */
  phrase: string;
}

export const PARAM_KINDS: readonly ParamKind[] = [
  { name: 'city', type: 'STRING', description: 'city name', phrase: 'in {v}', values: ['Lisbon', 'Oslo', 'Nairobi', 'Lima', 'Osaka', 'Denver', 'Cairo', 'Hanoi', 'Perth', 'Quito', 'Bergen', 'Tunis', 'Porto', 'Kyoto', 'Dakar', 'Riga'] },
  { name: 'country', type: 'STRING', description: 'country name', phrase: 'across {v}', values: ['Chile', 'Norway', 'Kenya', 'Japan', 'Peru', 'Egypt', 'Canada', 'Vietnam', 'Ireland', 'Morocco', 'Iceland', 'Brazil'] },
  { name: 'days', type: 'NUMBER', description: 'number of days', phrase: 'over {v} days', values: { min: 2, max: 9 } },
  { name: 'year', type: 'NUMBER', description: 'year', phrase: 'from {v}', values: { min: 1990, max: 2025 } },
  { name: 'limit', type: 'NUMBER', description: 'how many results', phrase: 'top {v}', values: { min: 3, max: 20 } },
  { name: 'currency', type: 'STRING', description: 'currency code', phrase: 'priced in {v}', values: ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'INR', 'SEK', 'BRL'] },
  { name: 'language', type: 'STRING', description: 'language', phrase: 'written in {v}', values: ['French', 'Hindi', 'Swahili', 'Korean', 'Polish', 'Greek', 'Turkish', 'Dutch', 'Thai', 'Czech'] },
  { name: 'month', type: 'STRING', description: 'month name', phrase: 'during {v}', values: ['January', 'March', 'April', 'June', 'July', 'August', 'October', 'December'] },
  { name: 'level', type: 'STRING', description: 'skill level', phrase: 'for {v} users', values: ['beginner', 'casual', 'advanced', 'expert', 'junior', 'senior'] },
  { name: 'budget', type: 'NUMBER', description: 'budget in dollars', phrase: 'under {v} dollars', values: { min: 20, max: 900 } },
];

/** Category names and the topics their APIs return; the last two categories are never trained on. */
export const CATEGORY_TOPICS: Readonly<Record<string, readonly string[]>> = {
  Weather: ['forecast', 'humidity', 'pollen', 'rainfall', 'sunrise', 'wind', 'snowfall', 'visibility'],
  Finance: ['rates', 'stocks', 'dividends', 'earnings', 'inflation', 'bonds', 'loans', 'taxes'],
  Food: ['recipes', 'nutrition', 'calories', 'menus', 'wines', 'spices', 'desserts', 'allergens'],
  Books: ['novels', 'authors', 'reviews', 'bestsellers', 'poems', 'libraries', 'editions', 'comics'],
  Travel: ['flights', 'hotels', 'visas', 'trains', 'airports', 'tours', 'ferries', 'hostels'],
  Sports: ['scores', 'fixtures', 'standings', 'players', 'stadiums', 'transfers', 'injuries', 'odds'],
  Music: ['songs', 'albums', 'concerts', 'lyrics', 'playlists', 'charts', 'artists', 'festivals'],
  Health: ['symptoms', 'clinics', 'vaccines', 'pharmacies', 'doctors', 'workouts', 'vitamins', 'hospitals'],
  Jobs: ['vacancies', 'salaries', 'companies', 'interviews', 'internships', 'skills', 'recruiters', 'benefits'],
  Movies: ['films', 'showtimes', 'trailers', 'actors', 'cinemas', 'ratings', 'awards', 'premieres'],
  Science: ['planets', 'asteroids', 'comets', 'eclipses', 'telescopes', 'satellites', 'fossils', 'minerals'],
  Gaming: ['tournaments', 'consoles', 'speedruns', 'achievements', 'leaderboards', 'patches', 'mods', 'servers'],
};

/** Categories no training query uses (ToolBench's G1_category and G2_category hold out categories). */
export const HELD_OUT_CATEGORIES: readonly string[] = ['Science', 'Gaming'];

// Reply fields: one number and one text per API. The numbers are ones the simulator fills with two
// digits (11-99), which the answer cites: two digit tokens to copy rather than a five-digit
// number's five (docs/demo.md).
const NUMBER_FIELDS = ['rank', 'position', 'index', 'page', 'age', 'percentage'];
const TEXT_FIELDS = ['status', 'label', 'grade', 'note', 'source', 'region'];

const NAME_SYLLABLES = ['ka', 've', 'lo', 'mi', 'tor', 'zan', 'bel', 'qui', 'dra', 'nu', 'sel', 'fa', 'rin', 'go', 'pex', 'wy'];

export interface DemoApi {
  topic: string;
  params: readonly ParamKind[];
  entry: ApiEntry;
}

export interface DemoTool {
  category: string;
  name: string;
  apis: DemoApi[];
  /** Never used by a training query: a G1_tool tool, or one of a held-out category. */
  heldOut: boolean;
}

export interface CatalogueOptions {
  /** Tools per category that training may use. */
  toolsPerCategory: number;
  /** Extra tools per seen category that only the G1_tool queries use. */
  heldOutToolsPerCategory: number;
}

export function generateCatalogue(rng: SeededRandom, options: CatalogueOptions): DemoTool[] {
  const usedNames = new Set<string>();
  const tools: DemoTool[] = [];
  for (const [category, topics] of Object.entries(CATEGORY_TOPICS)) {
    const heldOutCategory = HELD_OUT_CATEGORIES.includes(category);
    const count = options.toolsPerCategory + (heldOutCategory ? 0 : options.heldOutToolsPerCategory);
    for (let i = 0; i < count; i++) {
      const name = toolName(rng, usedNames);
      const apis = rng.shuffle([...topics]).slice(0, 3).map((topic) => demoApi(rng, category, name, topic));
      tools.push({ category, name, apis, heldOut: heldOutCategory || i >= options.toolsPerCategory });
    }
  }
  return tools;
}

function toolName(rng: SeededRandom, used: Set<string>): string {
  for (;;) {
    const word = Array.from({ length: rng.int(2, 3) }, () => rng.pick(NAME_SYLLABLES)).join('');
    const name = word[0]!.toUpperCase() + word.slice(1);
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

function demoApi(rng: SeededRandom, category: string, tool: string, topic: string): DemoApi {
  const params = rng.shuffle([...PARAM_KINDS]).slice(0, 2);
  const parameter = (p: ParamKind): ApiParameter => ({ name: p.name, type: p.type, description: p.description, default: '' });
  const entry: ApiEntry = {
    category_name: category,
    tool_name: tool,
    api_name: topic,
    // No description: the name says what the API returns, and the demo's context is small.
    api_description: '',
    required_parameters: params.map(parameter),
    optional_parameters: [],
    method: 'GET',
    template_response: { [rng.pick(NUMBER_FIELDS)]: 'int', [rng.pick(TEXT_FIELDS)]: 'str' },
  };
  return { topic, params, entry };
}
