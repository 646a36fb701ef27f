/**
 * The tags in use, in one place so a writer in one module and a reader in
 * another name the same thing without importing each other.
 */
export const CACHE_TAGS = {
  /** reads of the cost ledger and the execution roll-ups (cost_daily, execution_stats_daily), and the agent labels they show */
  costs: 'costs',
  /** the marketplace catalogue: approved listings of every organization, their ratings */
  marketplace: 'marketplace',
  /** an organization's campaign templates */
  campaignTemplates: 'campaign_templates',
  /** an organization's service catalogue (seed 001 services), without the live campaign counts */
  services: 'services',
} as const;
