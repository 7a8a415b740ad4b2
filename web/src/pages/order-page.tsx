import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Order, OrderStatus } from "@shopmesh/gen/shopmesh/order/v1/order_pb.js";
import { useEffect, useState } from "react";
import { followOrder } from "../follow-order.js";
import {
  canCancel,
  cancelConsequence,
  isFinal,
  orderOutcome,
  orderSteps,
  type StepState,
  statusLabel,
} from "../order-progress.js";
import { explain, type Problem } from "../problem.js";
import { href } from "../route.js";
import { useShop } from "../shop.js";
import { traced } from "../tracing.js";
import { Loading, PageTitle, Price, ProblemPanel } from "../ui.js";
import { SignInForm } from "./sign-in.js";

/**
 * Follows one order live through WatchOrder (server streaming): its state at once,
 * then every change until it is final. A broken or silent stream reconnects by itself.
 */
function useWatchedOrder(orderId: string) {
  const { clients } = useShop();
  const [order, setOrder] = useState<Order | undefined>();
  const [problem, setProblem] = useState<Problem | undefined>();
  useEffect(
    () =>
      followOrder((signal) => clients.orders.watchOrder({ orderId }, { signal }), {
        onOrder: (next) => {
          setOrder(next);
          setProblem(undefined);
        },
        onProblem: setProblem,
      }),
    [orderId, clients],
  );
  return { order, setOrder, problem };
}

const stepMark: Record<StepState, string> = {
  done: "✓",
  active: "…",
  waiting: "○",
  failed: "✗",
  skipped: "–",
};

const stepWords: Record<StepState, string> = {
  done: "done",
  active: "in progress",
  waiting: "waiting",
  failed: "stopped",
  skipped: "skipped",
};

/** One order, live: each checkout step, the outcome and what to do next, and cancel where allowed. */
export function OrderPage({ orderId }: { orderId: string }) {
  const { session } = useShop();
  if (!session) {
    return (
      <>
        <PageTitle>Your order</PageTitle>
        <p>Sign in to see this order.</p>
        <SignInForm />
      </>
    );
  }
  return <WatchedOrder orderId={orderId} />;
}

function WatchedOrder({ orderId }: { orderId: string }) {
  const { clients } = useShop();
  const { order, setOrder, problem } = useWatchedOrder(orderId);
  const [cancelling, setCancelling] = useState(false);
  const [cancelProblem, setCancelProblem] = useState<Problem | undefined>();
  if (!order) {
    return (
      <>
        <PageTitle>Your order</PageTitle>
        {problem ? <ProblemPanel problem={problem} /> : <Loading label="Loading your order…" />}
      </>
    );
  }
  const outcome = orderOutcome(order);
  const cancel = async () => {
    setCancelling(true);
    setCancelProblem(undefined);
    try {
      const answer = await traced("cancel order", (contextValues) =>
        clients.orders.cancelOrder({ orderId }, { contextValues }),
      );
      if (answer.order) setOrder(answer.order);
    } catch (error) {
      setCancelProblem(explain(error, "Ordering"));
    } finally {
      setCancelling(false);
    }
  };
  return (
    <article className="order" data-order-status={OrderStatus[order.status]}>
      <PageTitle>Order {order.orderId.slice(0, 8)}</PageTitle>
      <div className={`outcome ${outcome.tone}`} role="status" aria-live="polite">
        <h2 className="outcome-title">{outcome.title}</h2>
        <p>{outcome.detail}</p>
        {outcome.tone === "failure" ? (
          <p>
            <a href={href({ page: "catalog", query: "" })}>Back to the catalog</a>
          </p>
        ) : null}
      </div>
      {problem && !isFinal(order.status) ? (
        <p className="notice" role="alert">
          Live updates are interrupted ({problem.title.toLowerCase()}); reconnecting…
        </p>
      ) : null}
      <h2>Progress</h2>
      <ol className="steps">
        {orderSteps(order).map((step) => (
          <li key={step.key} className={`step ${step.state}`} data-step={step.key} data-state={step.state}>
            <span aria-hidden="true" className="mark">
              {stepMark[step.state]}
            </span>{" "}
            {step.label}
            {step.note ? `: ${step.note}` : ""} <span className="visually-hidden">({stepWords[step.state]})</span>
          </li>
        ))}
      </ol>
      <h2>Items</h2>
      <ul className="summary">
        {order.lines.map((line) => (
          <li key={line.sku}>
            {line.quantity} × {line.name} <Price amount={line.lineTotal} />
          </li>
        ))}
      </ul>
      <p className="total">
        Total: <Price amount={order.total} />
      </p>
      <p className="muted">
        Placed {order.createTime ? timestampDate(order.createTime).toLocaleString() : ""} · status{" "}
        {statusLabel[order.status]}
      </p>
      {canCancel(order.status) ? (
        <p>
          <button type="button" className="secondary" disabled={cancelling} onClick={() => void cancel()}>
            {cancelling ? "Cancelling…" : "Cancel this order"}
          </button>{" "}
          <span className="muted">{cancelConsequence(order.status)}</span>
        </p>
      ) : null}
      {cancelProblem ? <ProblemPanel problem={cancelProblem} /> : null}
      <p>
        <a href={href({ page: "orders" })}>All my orders</a>
      </p>
    </article>
  );
}
