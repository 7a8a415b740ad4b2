import type { NewProduct } from "./product.js";
import { type Queryable, writeProducts } from "./product-store.js";

interface Category {
  readonly name: string;
  readonly nouns: readonly string[];
  readonly uses: readonly string[];
}

const categories: readonly Category[] = [
  {
    name: "kitchen",
    nouns: ["Chef's Knife", "Cutting Board", "Saucepan", "Skillet", "Kettle", "Colander", "Spice Rack", "Mixing Bowl"],
    uses: ["weeknight dinners", "meal prep", "slow Sunday cooking", "small apartment kitchens"],
  },
  {
    name: "outdoor",
    nouns: ["Camping Lantern", "Daypack", "Tent", "Sleeping Bag", "Trekking Poles", "Water Filter", "Camp Stove"],
    uses: ["weekend hikes", "backcountry trips", "car camping", "rainy trailheads"],
  },
  {
    name: "office",
    nouns: ["Desk Lamp", "Notebook", "Monitor Stand", "Desk Organizer", "Fountain Pen", "Task Chair", "Whiteboard"],
    uses: ["home offices", "long study sessions", "shared workspaces", "focused mornings"],
  },
  {
    name: "audio",
    nouns: ["Headphones", "Bookshelf Speaker", "Earbuds", "Turntable", "Soundbar", "Portable Speaker", "Microphone"],
    uses: ["late-night listening", "podcast recording", "commutes", "living-room movie nights"],
  },
  {
    name: "home",
    nouns: ["Throw Blanket", "Table Lamp", "Wall Clock", "Storage Basket", "Picture Frame", "Vase", "Doormat"],
    uses: ["cozy evenings", "entryways", "guest rooms", "bright living rooms"],
  },
  {
    name: "garden",
    nouns: ["Pruning Shears", "Watering Can", "Planter", "Garden Hose", "Trowel", "Kneeling Pad", "Seed Tray"],
    uses: ["balcony gardens", "raised beds", "spring planting", "herb windowsills"],
  },
  {
    name: "sports",
    nouns: ["Yoga Mat", "Jump Rope", "Water Bottle", "Resistance Bands", "Foam Roller", "Gym Bag", "Kettlebell"],
    uses: ["morning workouts", "home gyms", "recovery days", "training on the go"],
  },
  {
    name: "travel",
    nouns: ["Carry-On", "Packing Cubes", "Neck Pillow", "Toiletry Bag", "Passport Wallet", "Luggage Scale"],
    uses: ["long-haul flights", "weekend getaways", "business trips", "backpacking"],
  },
  {
    name: "lighting",
    nouns: ["Floor Lamp", "String Lights", "Pendant Light", "Night Light", "Reading Light", "Smart Bulb"],
    uses: ["reading corners", "patios", "bedrooms", "warm dinner light"],
  },
  {
    name: "bath",
    nouns: ["Bath Towel", "Shower Caddy", "Bath Mat", "Soap Dispenser", "Robe", "Toothbrush Holder"],
    uses: ["spa evenings", "family bathrooms", "guest baths", "quick mornings"],
  },
];

const adjectives = [
  "Classic",
  "Compact",
  "Everyday",
  "Heritage",
  "Modern",
  "Nordic",
  "Premium",
  "Rugged",
  "Slim",
  "Studio",
  "Urban",
  "Vintage",
];

const materials = [
  "Oak",
  "Walnut",
  "Bamboo",
  "Steel",
  "Copper",
  "Ceramic",
  "Linen",
  "Cotton",
  "Wool",
  "Recycled",
  "Cast Iron",
  "Canvas",
];

const qualities = [
  "built to last for years",
  "easy to clean",
  "light enough to carry anywhere",
  "designed with a minimalist look",
  "made from responsibly sourced materials",
  "backed by a two-year warranty",
];

/** How many products the default catalog has. */
export const defaultCatalogSize = 300;

/**
 * A realistic catalog, the same on every run: names and descriptions from word
 * lists, one of ten categories, USD prices from $1.99 to $499.99, and stock from 0
 * to 500 (every 25th product sold out). SKUs are `SKU-000001` onwards.
 */
export function generateCatalog(size = defaultCatalogSize): NewProduct[] {
  const random = mulberry32(20_240_601);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
  return Array.from({ length: size }, (_, index) => {
    const category = pick(categories);
    const noun = pick(category.nouns);
    const name = `${pick(adjectives)} ${pick(materials)} ${noun}`;
    const price = 199 + 100 * Math.floor(random() * 499);
    const stock = (index + 1) % 25 === 0 ? 0 : 1 + Math.floor(random() * 500);
    return {
      sku: `SKU-${String(index + 1).padStart(6, "0")}`,
      name,
      description: `${noun} for ${pick(category.uses)}, ${pick(qualities)}.`,
      category: category.name,
      price: { amountMinor: BigInt(price), currency: "USD" },
      available: BigInt(stock),
    };
  });
}

/**
 * Seeds the catalog. Without `products`, writes the default catalog only when the
 * catalog is empty (safe at every start, and when replicas start together). With
 * `products`, inserts them or overwrites their details and available units (what is
 * reserved or sold is kept) — for tests and fixtures. Answers how many were written.
 *
 * ```ts
 * await seedCatalog(pool); // the 300 default products, once
 * await seedCatalog(pool, [{ sku: "SKU-TEST-1", ..., available: 50n }]);
 * ```
 */
export function seedCatalog(db: Queryable, products?: readonly NewProduct[]): Promise<number> {
  return products === undefined
    ? writeProducts(db, generateCatalog(), "if-empty")
    : writeProducts(db, products, "upsert");
}

function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
