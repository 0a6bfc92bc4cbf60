//! The tenant's own ids that orders refer to, and which totals an order carries:
//! what Revel needs from the configuration, owned here.

/// Which totals the finalize step writes to Revel (`REVEL_TOTALS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevelTotals {
    /// Subtotal, final total, discount, printed: Revel applies the store's own taxes.
    Pos,
    /// Also the invoice's tax, fees and remaining due (for a Revel tax set to zero).
    Invoice,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevelIds {
    pub user: Option<u64>,
    pub pos_station: Option<u64>,
    pub dining_option: Option<u64>,
    pub payment_type: Option<u64>,
    pub discount: Option<u64>,
}

impl RevelIds {
    /// The variables still unset, for the startup warning.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("REVEL_USER_ID", self.user),
            ("REVEL_POS_STATION_ID", self.pos_station),
            ("REVEL_DINING_OPTION_ID", self.dining_option),
            ("REVEL_PAYMENT_TYPE_ID", self.payment_type),
            ("REVEL_DISCOUNT_ID", self.discount),
        ]
        .into_iter()
        .filter(|(_, id)| id.is_none())
        .map(|(name, _)| name)
        .collect()
    }
}
