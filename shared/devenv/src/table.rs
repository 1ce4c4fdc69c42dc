//! Create the table exactly as template.yaml declares it.

use nexus_wiring::template::TableDef;

/// Creating the table on a local endpoint.
pub trait CreateTable {
    fn create(
        &self,
        client: &aws_sdk_dynamodb::Client,
        table_name: &str,
    ) -> impl std::future::Future<Output = Result<bool, String>> + Send;
}

impl CreateTable for TableDef {
    /// Create the table on a (local) endpoint exactly as declared, with TTL.
    /// An existing table is left as it is.
    async fn create(
        &self,
        client: &aws_sdk_dynamodb::Client,
        table_name: &str,
    ) -> Result<bool, String> {
        use aws_sdk_dynamodb::types::*;
        let key = |name: &str, t: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(t)
                .build()
        };
        let mut schema = vec![key(&self.hash_key, KeyType::Hash).map_err(|e| e.to_string())?];
        if let Some(r) = &self.range_key {
            schema.push(key(r, KeyType::Range).map_err(|e| e.to_string())?);
        }
        let mut req = client
            .create_table()
            .table_name(table_name)
            .billing_mode(BillingMode::PayPerRequest)
            .set_key_schema(Some(schema));
        for (name, ty) in &self.attributes {
            req = req.attribute_definitions(
                AttributeDefinition::builder()
                    .attribute_name(name)
                    .attribute_type(ScalarAttributeType::from(ty.as_str()))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        for (name, h, r) in &self.gsis {
            let mut ks = vec![key(h, KeyType::Hash).map_err(|e| e.to_string())?];
            if let Some(r) = r {
                ks.push(key(r, KeyType::Range).map_err(|e| e.to_string())?);
            }
            req = req.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(name)
                    .set_key_schema(Some(ks))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        if let Some(v) = &self.stream_view_type {
            req = req.stream_specification(
                StreamSpecification::builder()
                    .stream_enabled(true)
                    .stream_view_type(StreamViewType::from(v.as_str()))
                    .build()
                    .map_err(|e| e.to_string())?,
            );
        }
        match req.send().await {
            Ok(_) => {}
            Err(e) => {
                let se = e.into_service_error();
                if se.is_resource_in_use_exception() {
                    return Ok(false);
                }
                return Err(format!("CreateTable {table_name}: {se}"));
            }
        }
        if let Some(attr) = &self.ttl_attribute {
            client
                .update_time_to_live()
                .table_name(table_name)
                .time_to_live_specification(
                    TimeToLiveSpecification::builder()
                        .attribute_name(attr)
                        .enabled(true)
                        .build()
                        .map_err(|e| e.to_string())?,
                )
                .send()
                .await
                .map_err(|e| format!("UpdateTimeToLive: {}", e.into_service_error()))?;
        }
        Ok(true)
    }
}
