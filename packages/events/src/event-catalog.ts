import { type DescMessage, getOption, hasOption } from "@bufbuild/protobuf";
import { event } from "@shopmesh/gen/shopmesh/common/v1/event_pb.js";

/** Where one event type travels: its stream and subject, namespaced. */
export interface EventRoute {
  readonly schema: DescMessage;
  readonly stream: string;
  readonly subject: string;
}

/** The events a service knows, and where each travels. */
export interface EventCatalog {
  readonly namespace: string;
  /** The route of an event type; throws for a type that is not an event. */
  route(schema: DescMessage): EventRoute;
  /** Every event type with its route. */
  routes(): EventRoute[];
  /** The event type published on a subject, if any. */
  schemaForSubject(subject: string): DescMessage | undefined;
  /** The namespaced name of a stream declared in the contracts, such as "ORDERS". */
  streamName(stream: string): string;
  /** The namespaced subject filter of every event of a stream, such as "orders.>". */
  streamSubjects(stream: string): string;
  /** Every stream name (namespaced) with its subject filter. */
  streams(): { name: string; subjects: string }[];
  /** The namespaced stream that holds dead letters. */
  readonly deadLetterStream: string;
  /** The subject a consumer's dead letters are published on. */
  deadLetterSubject(consumer: string): string;
}

/**
 * Builds the catalog from event message types, reading each type's
 * `(shopmesh.common.v1.event)` option. A namespace (tests use one per file) prefixes
 * stream names ("T1_ORDERS") and subjects ("T1.orders.placed") so that several
 * meshes can share one NATS server.
 */
export function createEventCatalog(schemas: readonly DescMessage[], namespace = ""): EventCatalog {
  const streamName = (stream: string) => (namespace ? `${namespace}_${stream}` : stream);
  const subject = (name: string) => (namespace ? `${namespace}.${name}` : name);
  const routes = new Map<DescMessage, EventRoute>();
  const bySubject = new Map<string, DescMessage>();
  const streamSubjects = new Map<string, string>();
  for (const schema of schemas) {
    if (!hasOption(schema, event)) throw new Error(`${schema.typeName} declares no (shopmesh.common.v1.event) route`);
    const option = getOption(schema, event);
    const route = { schema, stream: streamName(option.stream), subject: subject(option.subject) };
    routes.set(schema, route);
    bySubject.set(route.subject, schema);
    streamSubjects.set(route.stream, subject(`${option.subject.split(".")[0]}.>`));
  }
  const deadLetterStream = streamName("DEADLETTER");
  return {
    namespace,
    route(schema) {
      const route = routes.get(schema);
      if (route === undefined) throw new Error(`${schema.typeName} is not in the event catalog`);
      return route;
    },
    routes: () => [...routes.values()],
    schemaForSubject: (name) => bySubject.get(name),
    streamName,
    streamSubjects(stream) {
      const subjects = streamSubjects.get(streamName(stream));
      if (subjects === undefined) throw new Error(`no events are routed to stream ${stream}`);
      return subjects;
    },
    streams: () => [...streamSubjects].map(([name, subjects]) => ({ name, subjects })),
    deadLetterStream,
    deadLetterSubject: (consumer) => subject(`deadletter.${consumer}`),
  };
}
