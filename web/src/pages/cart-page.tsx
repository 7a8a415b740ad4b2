import { useEffect, useState } from "react";
import { type CartLine, cartTotals, maxQuantity, removeLine, setQuantity } from "../cart.js";
import { href } from "../route.js";
import { useShop } from "../shop.js";
import { CartTotal, PageTitle, Price } from "../ui.js";

/** The cart, kept in this browser: change quantities, remove lines, go to checkout. */
export function CartPage() {
  const { cart, setCart } = useShop();
  if (cart.length === 0) {
    return (
      <>
        <PageTitle>Your cart</PageTitle>
        <p>
          Your cart is empty. <a href={href({ page: "catalog", query: "" })}>Browse the catalog</a>.
        </p>
      </>
    );
  }
  return (
    <>
      <PageTitle>Your cart</PageTitle>
      <ul className="lines">
        {cart.map((line) => (
          <li key={line.sku} className="line">
            <div>
              <a href={href({ page: "product", sku: line.sku })}>{line.name}</a>
              <p className="muted">
                <Price amount={line.unitPrice} /> each
              </p>
            </div>
            <div className="line-controls">
              <QuantityField line={line} />
              <button
                type="button"
                className="secondary"
                aria-label={`Remove ${line.name} from the cart`}
                onClick={() => setCart((current) => removeLine(current, line.sku))}
              >
                Remove
              </button>
            </div>
            <p className="line-total">
              <Price amount={{ ...line.unitPrice, amountMinor: line.unitPrice.amountMinor * BigInt(line.quantity) }} />
            </p>
          </li>
        ))}
      </ul>
      <p className="total">
        <CartTotal totals={cartTotals(cart)} />
      </p>
      <p className="muted">Prices and stock are checked again when you place the order.</p>
      <p>
        <a className="button" href={href({ page: "checkout" })}>
          Check out
        </a>
      </p>
    </>
  );
}

/** A line's quantity; a half-typed value (empty while retyping) stays in the field until it is a number. */
function QuantityField({ line }: { line: CartLine }) {
  const { setCart } = useShop();
  const [draft, setDraft] = useState(String(line.quantity));
  useEffect(() => setDraft(String(line.quantity)), [line.quantity]);
  return (
    <>
      <label htmlFor={`qty-${line.sku}`}>Quantity of {line.name}</label>
      <input
        id={`qty-${line.sku}`}
        type="number"
        inputMode="numeric"
        min={1}
        max={maxQuantity}
        value={draft}
        onChange={(event) => {
          setDraft(event.target.value);
          const quantity = Number(event.target.value);
          if (Number.isInteger(quantity) && quantity > 0)
            setCart((current) => setQuantity(current, line.sku, quantity));
        }}
        onBlur={() => setDraft(String(line.quantity))}
      />
    </>
  );
}
