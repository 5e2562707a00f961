import type { CalibrationModel } from './calibration.js';

/**
 * The engine's default calibration: fitted by `sagasu eval ../shared/eval --calibration-out` on
 * 2026-12-02 (seed 1, fusion k 5 with weights
 * {"visual": 1, "text": 4, "hash": 4}) on a seeded half of the development split's
 * queries (481 queries) and judged on the other half, with region vectors, the dominant-text rule and
 * verification down to the 36th candidate and of the candidates closest to the best verified one
 * (refitted when they changed what the features see). Its
 * threshold is the lowest confidence at which at most 0.05 of the queries
 * made from images that are not indexed got a confident answer on the fit half. Only these numbers
 * come from the evaluation set; none of its images ship with the project. Refit with `sagasu eval
 * <your gallery> --calibration-out model.json` and pass it as `Sagasu.open({ calibration })`.
 */
export const defaultCalibrationModel: CalibrationModel = {
  "version": 2,
  "features": [
    "visualSimilarity",
    "visualMargin",
    "visualRankInverse",
    "textMatchedShare",
    "textMatchedLog",
    "textScoreShare",
    "textRankInverse",
    "hashCloseness",
    "fusedRankInverse",
    "fusedScoreShare",
    "queryTermsLog",
    "visualTextAgree",
    "spatialInliersLog",
    "spatialVerified",
    "spatialLeadLog"
  ],
  "mean": [
    0.8230287595287596,
    -0.04722619542619536,
    0.4416282037082425,
    0.31162673662673723,
    0.8423743777807283,
    0.17627129991725704,
    0.2733997522459065,
    0.04132016632016634,
    0.6111111111111157,
    0.4517552209468203,
    1.347760493817771,
    0.07068607068607066,
    1.460357887712364,
    0.27789327789327734,
    -1.4386316666013634
  ],
  "scale": [
    0.11136616752193454,
    0.09676064584717756,
    0.3755662960529371,
    0.4076689862844239,
    1.1365624828453744,
    0.31023928881770535,
    0.3657353386929586,
    0.1933448064853127,
    0.2832788618662661,
    0.13680631747042624,
    1.5411155675645118,
    0.25629972707170895,
    2.3675480745893642,
    0.44796049378825004,
    3.948743384465432
  ],
  "weights": [
    0.15520302417068865,
    -0.311261344806655,
    0.7416366071755638,
    0.2500788229590688,
    1.5076333038568799,
    1.5912711912977835,
    -0.1318199679703968,
    1.0766840432652076,
    0.9663847600679837,
    -0.2975185081252407,
    -1.6411544926485262,
    -0.21616101499513424,
    1.2524908388870624,
    0.2459122499326573,
    2.3435192586265625
  ],
  "bias": -3.4734915905090693,
  "threshold": 0.7714160144229987,
  "fittedOn": {
    "queries": 481,
    "hits": 1443,
    "seed": 1,
    "maxFalsePositiveRate": 0.05,
    "fusion": {
      "k": 5,
      "weights": {
        "visual": 1,
        "text": 4,
        "hash": 4
      }
    }
  }
};
