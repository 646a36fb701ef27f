-- Default prices of OpenAI's embedding models, so a paid embedder's calls
-- (recorded as llm_call spans, usage type embedding) are priced like any
-- model call. Embeddings have input tokens only. An organization prices any
-- other embedding model with POST /v1/model-prices.
INSERT INTO model_prices (provider, model_pattern, effective_from, input_price, output_price, cached_input_price, cache_write_price, reasoning_price, tier, source, source_read_on) VALUES
  ('openai', '^text-embedding-3-small$', '2024-01-01', 0.00000002, 0, NULL, NULL, NULL, 'tier3', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^text-embedding-3-large$', '2024-01-01', 0.00000013, 0, NULL, NULL, NULL, 'tier3', 'https://openai.com/api/pricing/', NULL),
  ('openai', '^text-embedding-ada-002$', '2024-01-01', 0.0000001, 0, NULL, NULL, NULL, 'tier3', 'https://openai.com/api/pricing/', NULL);
