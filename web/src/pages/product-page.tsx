import { type FormEvent, useState } from "react";
import { addToCart, cartFull, hasRoomFor, maxQuantity } from "../cart.js";
import { href } from "../route.js";
import { useShop } from "../shop.js";
import { Loading, PageTitle, Price, ProblemPanel } from "../ui.js";
import { useCall } from "../use-call.js";
import { Stock } from "./catalog-page.js";

/** One product: description, price, stock, and a quantity to add to the cart. */
export function ProductPage({ sku }: { sku: string }) {
  const { clients, cart, setCart } = useShop();
  const [added, setAdded] = useState("");
  const { state, retry } = useCall((signal) => clients.catalog.getProduct({ sku }, { signal }), [sku], "The catalog");
  if (state.kind === "loading") return <Loading label="Loading the product…" />;
  if (state.kind === "failed") return <ProblemPanel problem={state.problem} onRetry={retry} />;
  const product = state.value.product;
  if (!product?.price) return <p>This product has no price.</p>;
  const price = product.price;
  const add = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const quantity = Number(new FormData(event.currentTarget).get("quantity"));
    if (!hasRoomFor(cart, product.sku)) return setAdded(cartFull);
    setCart((current) => addToCart(current, { sku: product.sku, name: product.name, unitPrice: price }, quantity));
    setAdded(`Added ${quantity} to your cart.`);
  };
  return (
    <article className="product">
      <p>
        <a href={href({ page: "catalog", query: "" })}>← Back to the catalog</a>
      </p>
      <PageTitle>{product.name}</PageTitle>
      <p className="muted">
        {product.category} · {product.sku}
      </p>
      <p>{product.description}</p>
      <p className="big">
        <Price amount={price} />
      </p>
      <Stock available={product.available} />
      <form onSubmit={add} className="add">
        <label htmlFor="quantity">Quantity</label>
        <div className="row">
          <input id="quantity" name="quantity" type="number" min={1} max={maxQuantity} defaultValue={1} required />
          <button type="submit" disabled={product.available <= 0n}>
            Add to cart
          </button>
        </div>
      </form>
      <p aria-live="polite">
        {added}
        {added ? (
          <>
            {" "}
            <a href={href({ page: "cart" })}>Go to your cart</a>
          </>
        ) : null}
      </p>
    </article>
  );
}
