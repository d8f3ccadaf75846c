/**
 * kiln's own small tool catalogue for the demo: ten invented tools in five categories, written
 * for kiln (not taken from RapidAPI or ToolBench). Descriptions are terse because the demo model
 * has a small context. Each API also says how users ask for it (`ask`, with `{param}` slots) and
 * what the agent thinks before calling it (`thought`), which the generator fills in.
 */

/** Where a parameter's values come from: a list to pick from, or an integer range. */
export type ValueSource = readonly string[] | { min: number; max: number };

export interface DemoParam {
  name: string;
  type: 'STRING' | 'NUMBER';
  description: string;
  values: ValueSource;
}

export interface DemoApi {
  name: string;
  description: string;
  required: DemoParam[];
  optional?: DemoParam[];
  /** A `template_response` skeleton (FORMAT.md §a): type words as leaves. */
  response: Record<string, unknown>;
  ask: string[];
  thought: string;
}

export interface DemoToolSpec {
  category: string;
  name: string;
  apis: DemoApi[];
}

const CITIES = ['Lisbon', 'Oslo', 'Nairobi', 'Lima', 'Osaka', 'Denver', 'Cairo', 'Hanoi', 'Perth', 'Quito', 'Bergen', 'Tunis', 'Porto', 'Kyoto'];
const CURRENCIES = ['USD', 'EUR', 'GBP', 'JPY', 'CHF', 'CAD', 'AUD', 'INR', 'SEK', 'BRL'];
const SYMBOLS = ['ACME', 'BOLT', 'CRUX', 'DYNA', 'EVOK', 'FLUX', 'GRID', 'HALO'];
const INGREDIENTS = ['lentils', 'spinach', 'salmon', 'chickpeas', 'mushrooms', 'quinoa', 'tofu', 'basil', 'leeks', 'barley'];
const FOODS = ['apple', 'oatmeal', 'almonds', 'yogurt', 'rice', 'avocado', 'eggs', 'banana', 'cheddar', 'pasta'];
const TITLES = ['The Silent River', 'Glass Harbor', 'Northern Lights', 'A Map of Salt', 'Paper Moons', 'The Last Orchard', 'Iron Tides'];
const AUTHORS = ['Mara Quell', 'Tomas Brink', 'Ada Marsh', 'Leon Varga', 'Ines Sol', 'Hugo Fenn'];
const TOPICS = ['courage', 'patience', 'travel', 'friendship', 'learning', 'kindness', 'work'];
const LENGTH_UNITS = ['meters', 'feet', 'kilometers', 'miles', 'inches', 'centimeters'];
const SCALES = ['celsius', 'fahrenheit', 'kelvin'];

const city = (description = 'city name'): DemoParam => ({ name: 'city', type: 'STRING', description, values: CITIES });

export const DEMO_TOOLS: readonly DemoToolSpec[] = [
  {
    category: 'Weather',
    name: 'SkyCast',
    apis: [
      {
        name: 'weather',
        description: 'Current conditions.',
        required: [city()],
        response: { temperature_c: 'int', condition: 'str', humidity: 'int' },
        ask: ['What is the weather in {city} right now?', 'How warm is it in {city} today?', 'Tell me the current weather in {city}.'],
        thought: 'I need the current weather in {city}.',
      },
      {
        name: 'forecast',
        description: 'Daily outlook.',
        required: [city(), { name: 'days', type: 'NUMBER', description: 'number of days', values: { min: 2, max: 5 } }],
        response: { days: [{ day: 'int', high_c: 'int', low_c: 'int', _list_length: 2 }] },
        ask: ['Give me a {days}-day forecast for {city}.', 'What will the weather be in {city} over the next {days} days?'],
        thought: 'I should get the {days}-day forecast for {city}.',
      },
    ],
  },
  {
    category: 'Weather',
    name: 'AirWatch',
    apis: [
      {
        name: 'air quality',
        description: 'Pollution index.',
        required: [city()],
        response: { aqi: 'int', main_pollutant: 'str', level: 'str' },
        ask: ['How clean is the air in {city}?', 'What is the air quality index in {city}?'],
        thought: 'I need the air quality in {city}.',
      },
      {
        name: 'pollen',
        description: 'Allergy levels.',
        required: [city()],
        response: { grass: 'int', tree: 'int', risk: 'str' },
        ask: ['Is the pollen bad in {city} today?', 'Check the pollen count in {city}.'],
        thought: 'I should check the pollen count in {city}.',
      },
    ],
  },
  {
    category: 'Finance',
    name: 'FXRates',
    apis: [
      {
        name: 'convert',
        description: 'Currency exchange.',
        required: [
          { name: 'amount', type: 'NUMBER', description: 'amount to convert', values: { min: 5, max: 900 } },
          { name: 'from', type: 'STRING', description: 'source currency code', values: CURRENCIES },
          { name: 'to', type: 'STRING', description: 'target currency code', values: CURRENCIES },
        ],
        response: { result: 'float', rate: 'float', date: 'str' },
        ask: ['Convert {amount} {from} to {to}.', 'How much is {amount} {from} in {to}?'],
        thought: 'I will convert {amount} {from} to {to}.',
      },
      {
        name: 'rates',
        description: 'Currency table for a base.',
        required: [{ name: 'base', type: 'STRING', description: 'base currency code', values: CURRENCIES }],
        response: { base: 'str', usd: 'float', eur: 'float', gbp: 'float' },
        ask: ['What are the latest exchange rates for {base}?', 'Show me current rates against {base}.'],
        thought: 'I need the latest rates for {base}.',
      },
    ],
  },
  {
    category: 'Finance',
    name: 'Tickers',
    apis: [
      {
        name: 'quote',
        description: 'Stock price.',
        required: [{ name: 'symbol', type: 'STRING', description: 'stock symbol', values: SYMBOLS }],
        response: { price: 'float', change_pct: 'float', volume: 'int' },
        ask: ['What is the stock price of {symbol}?', 'How is {symbol} trading today?'],
        thought: 'I should get the quote for {symbol}.',
      },
      {
        name: 'profile',
        description: 'Company facts.',
        required: [{ name: 'symbol', type: 'STRING', description: 'stock symbol', values: SYMBOLS }],
        response: { name: 'str', sector: 'str', employees: 'int' },
        ask: ['Tell me about the company behind {symbol}.', 'What does {symbol} do?'],
        thought: 'I need the company profile of {symbol}.',
      },
    ],
  },
  {
    category: 'Food',
    name: 'RecipeBox',
    apis: [
      {
        name: 'recipes',
        description: 'Dishes with an ingredient.',
        required: [{ name: 'ingredient', type: 'STRING', description: 'main ingredient', values: INGREDIENTS }],
        response: { recipes: [{ id: 'int', title: 'str', minutes: 'int', _list_length: 2 }] },
        ask: ['Find me a recipe with {ingredient}.', 'What can I cook with {ingredient}?'],
        thought: 'I will search recipes with {ingredient}.',
      },
      {
        name: 'recipe',
        description: 'Recipe details.',
        required: [{ name: 'recipe_id', type: 'NUMBER', description: 'recipe id', values: { min: 100, max: 999 } }],
        response: { title: 'str', servings: 'int', steps: 'int' },
        ask: ['Show me the details of recipe {recipe_id}.', 'How do I make recipe number {recipe_id}?'],
        thought: 'I need the details of recipe {recipe_id}.',
      },
    ],
  },
  {
    category: 'Food',
    name: 'NutriFacts',
    apis: [
      {
        name: 'nutrition',
        description: 'Nutrition facts.',
        required: [{ name: 'food', type: 'STRING', description: 'food name', values: FOODS }],
        response: { calories: 'int', protein_g: 'float', carbs_g: 'float' },
        ask: ['How many calories are in {food}?', 'What are the nutrition facts of {food}?'],
        thought: 'I should look up the nutrition of {food}.',
      },
    ],
  },
  {
    category: 'Books',
    name: 'OpenShelf',
    apis: [
      {
        name: 'book',
        description: 'Look up a title.',
        required: [{ name: 'title', type: 'STRING', description: 'book title', values: TITLES }],
        response: { books: [{ author: 'str', year: 'int', pages: 'int', _list_length: 1 }] },
        ask: ['Who wrote "{title}"?', 'Find the book "{title}" for me.'],
        thought: 'I will search for the book "{title}".',
      },
      {
        name: 'author',
        description: 'Author facts.',
        required: [{ name: 'author', type: 'STRING', description: 'author name', values: AUTHORS }],
        response: { born: 'int', country: 'str', books: 'int' },
        ask: ['Tell me about the author {author}.', 'Who is {author}?'],
        thought: 'I need information about {author}.',
      },
    ],
  },
  {
    category: 'Books',
    name: 'QuoteGarden',
    apis: [
      {
        name: 'saying',
        description: 'A quote on a topic.',
        required: [{ name: 'topic', type: 'STRING', description: 'quote topic', values: TOPICS }],
        response: { quote: 'str', author: 'str' },
        ask: ['Give me a quote about {topic}.', 'I need an inspiring quote on {topic}.'],
        thought: 'I will fetch a quote about {topic}.',
      },
    ],
  },
  {
    category: 'Tools',
    name: 'Units',
    apis: [
      {
        name: 'length',
        description: 'Convert distances.',
        required: [
          { name: 'value', type: 'NUMBER', description: 'length', values: { min: 1, max: 500 } },
          { name: 'from_unit', type: 'STRING', description: 'source unit', values: LENGTH_UNITS },
          { name: 'to_unit', type: 'STRING', description: 'target unit', values: LENGTH_UNITS },
        ],
        response: { result: 'float', formula: 'str' },
        ask: ['Convert {value} {from_unit} to {to_unit}.', 'How many {to_unit} is {value} {from_unit}?'],
        thought: 'I will convert {value} {from_unit} to {to_unit}.',
      },
      {
        name: 'temperature',
        description: 'Convert degrees.',
        required: [
          { name: 'value', type: 'NUMBER', description: 'temperature', values: { min: -20, max: 120 } },
          { name: 'scale', type: 'STRING', description: 'target scale', values: SCALES },
        ],
        response: { result: 'float', scale: 'str' },
        ask: ['What is {value} degrees in {scale}?', 'Convert a temperature of {value} to {scale}.'],
        thought: 'I should convert {value} degrees to {scale}.',
      },
    ],
  },
  {
    category: 'Tools',
    name: 'WorldClock',
    apis: [
      {
        name: 'time',
        description: 'Local clock.',
        required: [city()],
        response: { time: 'str', utc_offset: 'int', dst: 'bool' },
        ask: ['What time is it in {city}?', 'Tell me the local time in {city}.'],
        thought: 'I need the local time in {city}.',
      },
      {
        name: 'difference',
        description: 'Hours between cities.',
        required: [city('first city'), { name: 'other_city', type: 'STRING', description: 'second city', values: CITIES }],
        response: { hours: 'int' },
        ask: ['How many hours apart are {city} and {other_city}?', 'What is the time difference between {city} and {other_city}?'],
        thought: 'I will get the time difference between {city} and {other_city}.',
      },
    ],
  },
];

/**
 * What the demo holds out, as ToolBench does: `G1_tool` queries use a tool never seen in
 * training, `G1_category` / `G2_category` queries a category never seen in training.
 */
export const HELD_OUT_TOOL = 'AirWatch';
export const HELD_OUT_CATEGORY = 'Books';
