import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Order } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { useState } from "react";
import { statusLabel } from "../order-progress.js";
import { href } from "../route.js";
import { useShop } from "../shop.js";
import { Loading, PageTitle, Price, ProblemPanel } from "../ui.js";
import { useCall } from "../use-call.js";
import { SignInForm } from "./sign-in.js";

/** The signed-in customer's orders, newest first, a page at a time. */
export function OrdersPage() {
  const { session } = useShop();
  return (
    <>
      <PageTitle>My orders</PageTitle>
      {session ? <OrderList /> : <SignInForm />}
    </>
  );
}

function OrderList() {
  const { clients } = useShop();
  const [pages, setPages] = useState<string[]>([""]);
  return (
    <>
      {pages.map((pageToken, index) => (
        <OrderPage
          key={pageToken}
          pageToken={pageToken}
          isLast={index === pages.length - 1}
          onMore={(next) => setPages([...pages, next])}
          clients={clients}
        />
      ))}
    </>
  );
}

function OrderPage({
  pageToken,
  isLast,
  onMore,
  clients,
}: {
  pageToken: string;
  isLast: boolean;
  onMore: (next: string) => void;
  clients: ReturnType<typeof useShop>["clients"];
}) {
  const { state, retry } = useCall(
    (signal) => clients.orders.listOrders({ pageSize: 10, pageToken }, { signal }),
    [pageToken],
    "Your orders",
  );
  if (state.kind === "loading") return <Loading label="Loading your orders…" />;
  if (state.kind === "failed") return <ProblemPanel problem={state.problem} onRetry={retry} />;
  if (state.value.orders.length === 0 && pageToken === "") {
    return (
      <p>
        No orders yet. <a href={href({ page: "catalog", query: "" })}>Browse the catalog</a>.
      </p>
    );
  }
  return (
    <>
      <ul className="orders">
        {state.value.orders.map((order) => (
          <OrderRow key={order.orderId} order={order} />
        ))}
      </ul>
      {isLast && state.value.nextPageToken ? (
        <button type="button" onClick={() => onMore(state.value.nextPageToken)}>
          Show older orders
        </button>
      ) : null}
    </>
  );
}

function OrderRow({ order }: { order: Order }) {
  return (
    <li className="order-row">
      <a href={href({ page: "order", orderId: order.orderId })}>Order {order.orderId.slice(0, 8)}</a>{" "}
      <span className={`badge status-${statusLabel[order.status].toLowerCase().replace(/\s/g, "-")}`}>
        {statusLabel[order.status]}
      </span>{" "}
      <Price amount={order.total} />{" "}
      <span className="muted">{order.createTime ? timestampDate(order.createTime).toLocaleString() : ""}</span>
    </li>
  );
}
