CREATE TABLE public.orders (
  id bigserial PRIMARY KEY,
  customer text NOT NULL,
  status text NOT NULL DEFAULT 'new',
  total numeric(12,2) NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE public.orders REPLICA IDENTITY FULL;
