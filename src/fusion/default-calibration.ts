import type { CalibrationModel } from '../eval/retrieval-calibration.js';

// TEMPORARY until the evaluation run finishes: replaced by the fitted model.
export const defaultCalibrationModel: CalibrationModel = {
  version: 2,
  features: ["visualSimilarity", "visualMargin", "visualRankInverse", "textMatchedShare", "textMatchedLog", "textScoreShare", "textRankInverse", "hashCloseness", "fusedRankInverse", "fusedScoreShare", "queryTermsLog", "visualTextAgree", "spatialInliersLog", "spatialVerified", "spatialLeadLog"],
  mean: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
  scale: [1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1],
  weights: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0],
  bias: 0,
  threshold: 0.5,
};
