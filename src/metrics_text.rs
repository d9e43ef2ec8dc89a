//! Prometheus text families, shared by the responder's `/metrics` and a probe agent's.

use prometheus_client::encoding::{
    DescriptorEncoder, EncodeCounterValue, EncodeGaugeValue, EncodeLabelSet, NoLabelSet,
};
use prometheus_client::metrics::MetricType;
use std::fmt;

/// A counter or gauge with one value per label set (counts are u64, measures f64).
pub fn family<L, V>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: impl IntoIterator<Item = (L, V)>,
) -> fmt::Result
where
    L: EncodeLabelSet,
    V: EncodeCounterValue + EncodeGaugeValue,
{
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in series {
        let mut one = metric.encode_family(&labels)?;
        match kind {
            MetricType::Counter => one.encode_counter::<NoLabelSet, V, f64>(&value, None)?,
            _ => one.encode_gauge(&value)?,
        }
    }
    Ok(())
}
