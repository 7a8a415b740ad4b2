import { useEffect, useMemo, useRef, useState } from "react";
import { type Cart, itemCount, loadCart, saveCart } from "./cart.js";
import { createClients } from "./clients.js";
import type { StorefrontConfig } from "./config.js";
import { CartPage } from "./pages/cart-page.js";
import { CatalogPage } from "./pages/catalog-page.js";
import { CheckoutPage } from "./pages/checkout-page.js";
import { OrderPage } from "./pages/order-page.js";
import { OrdersPage } from "./pages/orders-page.js";
import { ProductPage } from "./pages/product-page.js";
import { SignInPage } from "./pages/sign-in.js";
import { href, parseRoute, type Route } from "./route.js";
import { completeOidcSignIn, loadSession, type Session, type SignInAnswer, saveSession } from "./session.js";
import { type Shop, ShopContext } from "./shop.js";
import { PageBoundary, PageTitle } from "./ui.js";

/**
 * The storefront: header and navigation, the current page, the cart and the session.
 * `signInAnswer` is what the identity provider sent back, taken from the address by main.tsx.
 */
export function App({ config, signInAnswer }: { config: StorefrontConfig; signInAnswer: SignInAnswer }) {
  const [route, setRoute] = useState<Route>(() => parseRoute(window.location.hash));
  const [cart, setCartState] = useState<Cart>(() => loadCart(localStorage));
  const [session, setSessionState] = useState<Session | undefined>(() => loadSession(sessionStorage));
  const [signInProblem, setSignInProblem] = useState<string | undefined>();
  const sessionRef = useRef(session);
  sessionRef.current = session;
  const clients = useMemo(
    () =>
      createClients(
        config,
        () => sessionRef.current?.token,
        () => {
          saveSession(sessionStorage, undefined);
          setSessionState(undefined);
        },
      ),
    [config],
  );
  const shownRoute = useRef(route);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute(window.location.hash));
    const onStorage = (event: StorageEvent) => {
      if (event.key === null || event.key.startsWith("shopmesh.cart")) setCartState(loadCart(localStorage));
    };
    window.addEventListener("hashchange", onHash);
    window.addEventListener("storage", onStorage);
    return () => {
      window.removeEventListener("hashchange", onHash);
      window.removeEventListener("storage", onStorage);
    };
  }, []);

  useEffect(() => {
    if (config.identity.kind !== "oidc") return;
    completeOidcSignIn(config.identity, signInAnswer).then(
      (signedIn) => {
        if (!signedIn) return;
        saveSession(sessionStorage, signedIn);
        setSessionState(signedIn);
      },
      (error: unknown) => setSignInProblem(error instanceof Error ? error.message : String(error)),
    );
  }, [config, signInAnswer]);

  useEffect(() => {
    if (shownRoute.current === route) return;
    shownRoute.current = route;
    document.querySelector<HTMLElement>("main h1")?.focus();
  }, [route]);

  const setSession = (next: Session | undefined) => {
    saveSession(sessionStorage, next);
    setSessionState(next);
  };
  const shop: Shop = {
    config,
    clients,
    cart,
    setCart: (update) =>
      setCartState((current) => {
        const next = update(current);
        saveCart(localStorage, next);
        return next;
      }),
    session,
    setSession,
    navigate: (next) => {
      window.location.hash = href(next);
    },
  };
  const count = itemCount(cart);
  return (
    <ShopContext.Provider value={shop}>
      <button type="button" className="skip" onClick={skipToContent}>
        Skip to content
      </button>
      <header className="top">
        <a className="brand" href={href({ page: "catalog", query: "" })}>
          shopmesh
        </a>
        <nav aria-label="Main">
          <ul>
            <li>
              <a
                href={href({ page: "catalog", query: "" })}
                aria-current={route.page === "catalog" ? "page" : undefined}
              >
                Catalog
              </a>
            </li>
            <li>
              <a href={href({ page: "cart" })} aria-current={route.page === "cart" ? "page" : undefined}>
                Cart <span className="count">({count})</span>
                <span className="visually-hidden"> items</span>
              </a>
            </li>
            <li>
              <a href={href({ page: "orders" })} aria-current={route.page === "orders" ? "page" : undefined}>
                My orders
              </a>
            </li>
            <li>
              {session ? (
                <button type="button" className="link" onClick={() => setSession(undefined)}>
                  Sign out {session.customerId}
                </button>
              ) : (
                <a href={href({ page: "sign-in" })}>Sign in</a>
              )}
            </li>
          </ul>
        </nav>
      </header>
      <main id="main">
        {signInProblem && !session ? (
          <div className="problem" role="alert">
            <h2>Sign-in failed</h2>
            <p>Signing in did not complete: {signInProblem}.</p>
            <p className="action">
              <a href={href({ page: "sign-in" })}>Sign in again</a>
            </p>
          </div>
        ) : null}
        <PageBoundary key={href(route)}>
          <Page route={route} />
        </PageBoundary>
      </main>
    </ShopContext.Provider>
  );
}

/** The skip control moves focus itself: a `#main` link would be read as a route. */
function skipToContent() {
  document.querySelector<HTMLElement>("main h1")?.focus();
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "catalog":
      return <CatalogPage key={route.query} query={route.query} />;
    case "product":
      return <ProductPage sku={route.sku} />;
    case "cart":
      return <CartPage />;
    case "checkout":
      return <CheckoutPage />;
    case "orders":
      return <OrdersPage />;
    case "order":
      return <OrderPage key={route.orderId} orderId={route.orderId} />;
    case "sign-in":
      return <SignInPage />;
    case "not-found":
      return (
        <>
          <PageTitle>Page not found</PageTitle>
          <p>
            <a href={href({ page: "catalog", query: "" })}>Go to the catalog</a>
          </p>
        </>
      );
  }
}
