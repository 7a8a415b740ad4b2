import { createContext, useContext } from "react";
import type { Cart } from "./cart.js";
import type { Clients } from "./clients.js";
import type { StorefrontConfig } from "./config.js";
import type { Route } from "./route.js";
import type { Session } from "./session.js";

/** What every page may use: configuration, clients, the cart, the session, navigation. */
export interface Shop {
  readonly config: StorefrontConfig;
  readonly clients: Clients;
  readonly cart: Cart;
  setCart(update: (cart: Cart) => Cart): void;
  readonly session: Session | undefined;
  setSession(session: Session | undefined): void;
  navigate(route: Route): void;
}

export const ShopContext = createContext<Shop | undefined>(undefined);

/** The shop of the surrounding <App>. */
export function useShop(): Shop {
  const shop = useContext(ShopContext);
  if (!shop) throw new Error("useShop outside <ShopContext>");
  return shop;
}
