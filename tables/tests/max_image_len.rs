//! Every table's `MAX_IMAGE_LEN` is the length of its largest image: a table with every list
//! at its capacity emits exactly that many octets, and `TableId::max_image_len` agrees. The
//! unit sizes its table slots from these figures (`onboard::limits`).

use tables::image::{self, Table};
use tables::pixels::PixelTable;
use tables::{
    Accumulation, AlertTable, Band, BandTable, CatalogTable, CrtTable, ImtTable, SaaTable, Source,
    TableId, Timescale, TriggerBand, Vertex, Zone,
};

/// Emits `table` into a buffer larger than any image and returns its length.
fn emitted_len<T: Table>(table: &T) -> usize {
    let mut buf = vec![0u8; 2 * tables::MAX_IMAGE_LEN];
    image::emit(table, &mut buf).unwrap()
}

fn full_bands() -> BandTable {
    let mut t = BandTable::default();
    for i in 0..tables::MAX_BANDS {
        t.bands.push(Band { low_kev: 5.0 + i as f32, high_kev: 6.0 + i as f32 }).unwrap();
    }
    t
}

fn full_trigger_bands<const N: usize>() -> heapless::Vec<TriggerBand, N> {
    (0..N).map(|i| TriggerBand { first: i as u8, last: i as u8 }).collect()
}

#[test]
fn published_figures() {
    // The figures the unit's footprint and `docs/tables.md` quote.
    let expected = [
        (TableId::Pixels, 108_812),
        (TableId::Bands, 77),
        (TableId::Crt, 404),
        (TableId::Imt, 77),
        (TableId::Catalog, 8_077),
        (TableId::Saa, 269),
        (TableId::Alert, 39),
    ];
    for (id, len) in expected {
        assert_eq!(id.max_image_len(), len, "{id}");
    }
    assert_eq!(tables::pixels::MAX_IMAGE_LEN, 108_812);
    assert_eq!(tables::bands::MAX_IMAGE_LEN, 77);
    assert_eq!(tables::crt::MAX_IMAGE_LEN, 404);
    assert_eq!(tables::imt::MAX_IMAGE_LEN, 77);
    assert_eq!(tables::catalog::MAX_IMAGE_LEN, 8_077);
    assert_eq!(tables::saa::MAX_IMAGE_LEN, 269);
    assert_eq!(tables::alert::MAX_IMAGE_LEN, 39);
    let largest = TableId::ALL.iter().map(|id| id.max_image_len()).max().unwrap();
    assert_eq!(largest, tables::MAX_IMAGE_LEN);
}

#[test]
fn full_tables_emit_exactly_the_maximum() {
    assert_eq!(emitted_len(&*Box::<PixelTable>::default()), TableId::Pixels.max_image_len());
    assert_eq!(emitted_len(&full_bands()), TableId::Bands.max_image_len());

    let mut crt = CrtTable { bands: full_trigger_bands(), ..CrtTable::default() };
    for _ in 0..tables::MAX_ZONES {
        crt.zones.push(Zone { y_min: 0, y_max: 79, z_min: 0, z_max: 79 }).unwrap();
    }
    for i in 0..tables::MAX_TIMESCALES {
        let rate_snr = (0..tables::MAX_TRIGGER_BANDS).map(|_| 6.5).collect();
        crt.timescales.push(Timescale { duration_ms: 10 << i, rate_snr }).unwrap();
    }
    assert_eq!(emitted_len(&crt), TableId::Crt.max_image_len());

    let mut imt = ImtTable { bands: full_trigger_bands(), ..ImtTable::default() };
    for i in 0..tables::MAX_ACCUMULATIONS {
        imt.accumulations.push(Accumulation { cycles: 1 << i, snr: 6.5 }).unwrap();
    }
    assert_eq!(emitted_len(&imt), TableId::Imt.max_image_len());

    let mut catalog = CatalogTable::default();
    for id in 0..tables::MAX_SOURCES {
        let name = heapless::String::try_from("SOURCE-NAME-16CH").unwrap();
        assert_eq!(name.len(), tables::NAME_LEN);
        let flux_threshold = (0..tables::MAX_BANDS).map(|_| 0.5).collect();
        let source = Source {
            id: id as u16,
            name,
            ra_deg: 83.6,
            dec_deg: 22.0,
            radius_deg: 0.5,
            flux_threshold,
        };
        catalog.sources.push(source).unwrap();
    }
    assert_eq!(emitted_len(&catalog), TableId::Catalog.max_image_len());

    let mut saa = SaaTable::default();
    for i in 0..tables::MAX_VERTICES {
        saa.vertices.push(Vertex { lon_deg: -90.0 + i as f32, lat_deg: -30.0 }).unwrap();
    }
    assert_eq!(emitted_len(&saa), TableId::Saa.max_image_len());

    assert_eq!(emitted_len(&AlertTable::default()), TableId::Alert.max_image_len());
}

#[test]
fn one_more_item_does_not_fit_any_list() {
    // The capacities are the lists' own: the maximum above cannot be exceeded.
    let mut bands = full_bands();
    assert!(bands.bands.push(Band::default()).is_err());
    let mut saa = SaaTable::default();
    for _ in 0..tables::MAX_VERTICES {
        saa.vertices.push(Vertex::default()).unwrap();
    }
    assert!(saa.vertices.push(Vertex::default()).is_err());
}
