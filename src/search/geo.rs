//! Distances on the Earth, as searches measure them.
//!
//! An offer's position is indexed as a point of the unit sphere, computed
//! once when the offer is indexed. The haversine of the angle between two
//! such points is a quarter of their squared chord: a search by distance
//! then costs a few multiplications per offer, where the haversine formula
//! on latitudes and longitudes cost three sines and cosines.

const EARTH_RADIUS_KM: f64 = 6371.0;

/// A point of the unit sphere (x towards longitude 0 on the equator, z
/// towards the North Pole).
pub type UnitVector = [f64; 3];

/// A coordinate of a unit vector as the index holds it: a whole number of
/// 2⁻³⁰ (at most 6 mm on the Earth), so that a column packs a coordinate
/// in about 30 bits and a block of them decodes fast; raw f64 took 64.
pub type IndexedCoordinate = i64;

const INDEXED_UNIT: f64 = (1u64 << 30) as f64;

/// The coordinates of an offer without a position: outside the sphere, and
/// close enough to the others not to widen the columns much.
pub const NO_POSITION: IndexedCoordinate = 1 << 31;

pub fn to_indexed(point: &UnitVector) -> [IndexedCoordinate; 3] {
    point.map(|c| (c * INDEXED_UNIT).round() as IndexedCoordinate)
}

/// The point of indexed coordinates; `None` for `NO_POSITION`.
pub fn from_indexed(coordinates: [IndexedCoordinate; 3]) -> Option<UnitVector> {
    if coordinates.contains(&NO_POSITION) {
        None
    } else {
        Some(coordinates.map(|c| c as f64 / INDEXED_UNIT))
    }
}

/// The point of a latitude and longitude, in degrees.
pub fn unit_vector((latitude, longitude): (f64, f64)) -> UnitVector {
    let (latitude, longitude) = (latitude.to_radians(), longitude.to_radians());
    [
        latitude.cos() * longitude.cos(),
        latitude.cos() * longitude.sin(),
        latitude.sin(),
    ]
}

/// The haversine of the angle between two points, hav(θ) = sin²(θ / 2)
/// (`a` in the haversine formula). It grows with the distance, so offers
/// are filtered and ordered by it without an arc sine per offer.
pub fn haversine(from: &UnitVector, to: &UnitVector) -> f64 {
    // The chord is 2 sin(θ / 2).
    let squared_chord: f64 = from.iter().zip(to).map(|(f, t)| (f - t) * (f - t)).sum();
    squared_chord / 4.0
}

/// The haversine of the angle a distance spans.
pub fn haversine_of_km(km: f64) -> f64 {
    (km / (2.0 * EARTH_RADIUS_KM))
        .min(std::f64::consts::FRAC_PI_2)
        .sin()
        .powi(2)
}

/// Great-circle distance in kilometres between two latitude, longitude pairs.
pub fn haversine_km(from: (f64, f64), to: (f64, f64)) -> f64 {
    let a = haversine(&unit_vector(from), &unit_vector(to));
    2.0 * EARTH_RADIUS_KM * a.sqrt().asin()
}

#[cfg(test)]
mod tests {
    use super::{
        NO_POSITION, from_indexed, haversine, haversine_km, haversine_of_km, to_indexed,
        unit_vector,
    };

    #[test]
    fn haversine_matches_a_known_distance() {
        // Aix-en-Provence town hall to Marseille town hall: about 25 km.
        let d = haversine_km((43.52994, 5.44765), (43.29760, 5.36943));
        assert!((d - 26.5).abs() < 0.5, "{d}");
    }

    #[test]
    fn the_chord_agrees_with_the_haversine_formula_on_latitudes_and_longitudes() {
        let hav = |degrees: f64| (degrees.to_radians() / 2.0).sin().powi(2);
        let points = [
            (43.52994, 5.44765),
            (43.52995, 5.44765),
            (43.29760, 5.36943),
            (48.85661, 2.35222),
            (-33.8688, 151.2093),
            (0.0, 180.0),
        ];
        for from in points {
            for to in points {
                let formula = hav(to.0 - from.0)
                    + from.0.to_radians().cos() * to.0.to_radians().cos() * hav(to.1 - from.1);
                let chord = haversine(&unit_vector(from), &unit_vector(to));
                assert!(
                    (chord - formula).abs() <= 1e-15 + 1e-9 * formula,
                    "{from:?} {to:?}: {chord} against {formula}"
                );
            }
        }
    }

    #[test]
    fn a_radius_and_a_distance_measure_alike() {
        let (aix, marseille) = ((43.52994, 5.44765), (43.29760, 5.36943));
        let a = haversine(&unit_vector(aix), &unit_vector(marseille));
        let km = haversine_km(aix, marseille);
        assert!(a <= haversine_of_km(km + 0.001));
        assert!(a > haversine_of_km(km - 0.001));
    }

    #[test]
    fn an_indexed_position_stays_within_millimetres_and_a_missing_one_is_nowhere() {
        let aix = (43.52994, 5.44765);
        let exact = unit_vector(aix);
        let indexed = from_indexed(to_indexed(&exact)).expect("a position");
        // Within 6 mm, measured as the search measures a radius.
        let a = haversine(&exact, &indexed);
        assert!(a < haversine_of_km(6e-6), "{a}");
        assert_eq!(from_indexed([NO_POSITION; 3]), None);
        assert_eq!(from_indexed([0, 0, NO_POSITION]), None);
    }
}
