import type { CalibrationModel } from './calibration.js';

/**
 * The engine's default calibration, fitted on 2026-12-03 with `node dist/bench/calibration-cross.js`
 * on the records of three full `sagasu eval ../shared/eval` runs (seeds 1, 2 and 3, verification
 * budget lifted; 3,639 queries, the first 3 fused hits of each) of the engine as shipped (fusion k 5,
 * weights {"visual": 1, "text": 4, "hash": 4}, region vectors, verification, colour with
 * black-and-white images as a full mismatch). Its threshold is the lowest confidence at which at
 * most 3% of the 348 queries made from the held-out images got a confident answer.
 *
 * Why 3% for a 5% target: a held-out image makes a query of every type, and one whose sibling
 * is indexed (another flavour of the same pack) fails on most of them together, so the rate on
 * new images swings with which images those are. Fitted on two seeds and judged on the third,
 * the threshold chosen at 5% let 11.4% / 4.3% / 2.8% through (6.3% of the 348 in all); chosen at
 * 3%, 1.6% / 4.3% / 1.9% (2.6%), accepting 60-63% of all queries' right answers instead of 66-70%.
 * (The rate 3% was picked by that check, so its 2.6% is slightly optimistic.) Only these numbers
 * come from the evaluation set; none of its images ship with the project. Refit with `sagasu eval
 * <your gallery> --calibration-out model.json` and pass it as `Sagasu.open({ calibration })`.
 */
export const defaultCalibrationModel: CalibrationModel = {
  "version": 3,
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
    "spatialLeadLog",
    "colourMismatch"
  ],
  "mean": [
    0.8159955207474547,
    -0.05554488412567568,
    0.4741047210113212,
    0.25544345428929527,
    0.691650572373346,
    0.13764284375686897,
    0.21767353433069567,
    0.03978313639278178,
    0.6111111111110636,
    0.4522658738657185,
    1.1437816414885613,
    0.061463772098561284,
    1.3738768807608888,
    0.2795639827791532,
    -1.2862271685974296,
    0.1311935238618686
  ],
  "scale": [
    0.11734405505851911,
    0.09464224537187298,
    0.36751687110110676,
    0.388927496925361,
    1.075625301449184,
    0.2811464454319162,
    0.3430228190783071,
    0.18951275317256092,
    0.28327886186625406,
    0.13161086688069526,
    1.4627007673407766,
    0.24017905158020794,
    2.2376219196246585,
    0.44878498449907916,
    3.5504673753365874,
    0.1986852891554531
  ],
  "weights": [
    0.005867193087121774,
    0.14856138032605334,
    0.23384398301167045,
    0.04304088010406797,
    1.1566193563128722,
    1.5178912830214963,
    -0.662956853098593,
    0.6805838335163386,
    0.5356604922182269,
    0.16036576054303633,
    -1.840013969589983,
    -0.24117145467784576,
    1.0359585528191126,
    0.04955568018721602,
    2.909589611213873,
    -0.9753068358380634
  ],
  "bias": -3.3148974442769727,
  "threshold": 0.9156190669745828,
  "fittedOn": {
    "queries": 3639,
    "hits": 10917,
    "seeds": [
      1,
      2,
      3
    ],
    "maxFalsePositiveRate": 0.03,
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
