import type { Product } from "@shopmesh/gen/shopmesh/inventory/v1/product_pb.js";
import { type FormEvent, useState } from "react";
import { addToCart, cartFull, hasRoomFor } from "../cart.js";
import { href, searchText } from "../route.js";
import { useShop } from "../shop.js";
import { Loading, PageTitle, Price, ProblemPanel } from "../ui.js";
import { useCall } from "../use-call.js";

const pageSize = 12;

/** The catalog: search, pages of products with price and stock, add to cart. */
export function CatalogPage({ query }: { query: string }) {
  const { clients, navigate } = useShop();
  const [tokens, setTokens] = useState<string[]>([""]);
  const pageToken = tokens[tokens.length - 1] ?? "";
  const { state, retry } = useCall(
    (signal) => clients.catalog.listProducts({ query, pageSize, pageToken }, { signal }),
    [query, pageToken],
    "The catalog",
  );
  const search = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const text = new FormData(event.currentTarget).get("q");
    navigate({ page: "catalog", query: typeof text === "string" ? searchText(text) : "" });
  };
  return (
    <>
      <PageTitle>{query ? `Results for “${query}”` : "Catalog"}</PageTitle>
      <search>
        <form className="search" onSubmit={search}>
          <label htmlFor="search-query">Search products</label>
          <div className="row">
            <input id="search-query" name="q" type="search" defaultValue={query} maxLength={100} />
            <button type="submit">Search</button>
          </div>
        </form>
      </search>
      {state.kind === "loading" ? <Loading label="Loading products…" /> : null}
      {state.kind === "failed" ? <ProblemPanel problem={state.problem} onRetry={retry} /> : null}
      {state.kind === "ready" ? (
        <>
          <p className="muted" aria-live="polite">
            {state.value.totalSize === 0
              ? "No products match. Try another word, or clear the search."
              : `${state.value.totalSize} products · page ${tokens.length} of ${Math.ceil(state.value.totalSize / pageSize)}`}
          </p>
          <ul className="products">
            {state.value.products.map((product) => (
              <li key={product.sku}>
                <ProductCard product={product} />
              </li>
            ))}
          </ul>
          <nav className="pager" aria-label="Catalog pages">
            <button type="button" disabled={tokens.length === 1} onClick={() => setTokens(tokens.slice(0, -1))}>
              Previous page
            </button>
            <button
              type="button"
              disabled={!state.value.nextPageToken}
              onClick={() => setTokens([...tokens, state.value.nextPageToken])}
            >
              Next page
            </button>
          </nav>
        </>
      ) : null}
    </>
  );
}

/** One product in the list, with its stock and an add-to-cart button. */
function ProductCard({ product }: { product: Product }) {
  const { cart, setCart } = useShop();
  const [added, setAdded] = useState("");
  const { available, price } = product;
  return (
    <article className="card" aria-labelledby={`name-${product.sku}`}>
      <h2 id={`name-${product.sku}`}>
        <a href={href({ page: "product", sku: product.sku })}>{product.name}</a>
      </h2>
      <p className="muted">
        {product.category} · {product.sku}
      </p>
      <p>
        <Price amount={product.price} />
      </p>
      <Stock available={available} />
      <button
        type="button"
        disabled={available <= 0n || !price}
        aria-label={`Add to cart: ${product.name}`}
        onClick={() => {
          if (!price) return;
          if (!hasRoomFor(cart, product.sku)) return setAdded(cartFull);
          setCart((current) => addToCart(current, { sku: product.sku, name: product.name, unitPrice: price }));
          setAdded("Added to your cart.");
        }}
      >
        Add to cart
      </button>
      <p className="added" aria-live="polite">
        {added}
      </p>
    </article>
  );
}

/** Units available, said in words (not by colour alone). */
export function Stock({ available }: { available: bigint }) {
  if (available <= 0n) return <p className="stock out">Out of stock</p>;
  if (available < 5n) return <p className="stock low">Only {available.toString()} left</p>;
  return <p className="stock">{available.toString()} in stock</p>;
}
