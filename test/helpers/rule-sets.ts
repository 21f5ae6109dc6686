/**
 * The seed's example rule set, as a feeds file writes it: confidence as the source reported it within 0–100,
 * every record naming its id at the source, failures quarantined.
 */
export const SEED_RULE_SET = {
  failureAction: 'quarantine',
  rules: [
    { kind: 'range', field: 'confidence', min: 0, max: 100 },
    { kind: 'required', fields: ['source'] },
  ],
} as const;
