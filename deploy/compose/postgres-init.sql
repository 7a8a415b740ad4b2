-- One database per service (the services migrate their own schema at start).
CREATE DATABASE shopmesh_order;
CREATE DATABASE shopmesh_inventory;
CREATE DATABASE shopmesh_payment;
