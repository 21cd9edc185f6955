//! The two mails of the preselected flow. A mailbox is an insecure channel
//! (the agreement says so): neither mail names the candidate or gives their
//! identifier; the agency follows a link to read the request, the coach
//! signs in to read the answer.

use crate::clock::in_paris;
use chrono::NaiveDateTime;

/// What the mail to the agency's recruitment mailbox says.
pub struct RequestMail<'a> {
    pub reference: &'a str,
    pub offer_id: &'a str,
    pub offer_title: &'a str,
    pub company: Option<&'a str>,
    pub agency_name: &'a str,
    pub partner_name: &'a str,
    pub coach_name: &'a str,
    pub coach_job_title: Option<&'a str>,
    pub coach_email: Option<&'a str>,
    pub sent_at: NaiveDateTime,
    pub link: &'a str,
    pub link_expires_at: NaiveDateTime,
}

pub fn request(mail: &RequestMail) -> (String, String) {
    let subject = format!(
        "Demande de contact {} — offre {} : {}",
        mail.reference, mail.offer_id, mail.offer_title
    );
    let mut body = format!(
        "Bonjour,\n\n\
         {partner} vous adresse une demande de contact pour une offre avec présélection \
         gérée par l'agence France Travail {agency}.\n\n\
         Demande : {reference}, du {date}\n\
         Offre : {offer_id} — {title}\n",
        partner = mail.partner_name,
        agency = mail.agency_name,
        reference = mail.reference,
        date = in_paris(mail.sent_at).format("%d/%m/%Y à %H:%M"),
        offer_id = mail.offer_id,
        title = mail.offer_title,
    );
    if let Some(company) = mail.company {
        body.push_str(&format!("Entreprise : {company}\n"));
    }
    body.push_str(&format!("\nSuivie par : {}", mail.coach_name));
    if let Some(job) = mail.coach_job_title {
        body.push_str(&format!(", {job}"));
    }
    body.push_str(&format!(" ({})\n", mail.partner_name));
    if let Some(email) = mail.coach_email {
        body.push_str(&format!("Contact professionnel : {email}\n"));
    }
    body.push_str(&format!(
        "\nLa candidature se consulte, et votre réponse s'enregistre, à cette adresse \
         (valable jusqu'au {expiry}) :\n{link}\n\n\
         Réponses possibles : candidat convoqué, CV demandé, candidature non retenue \
         (avec son motif) ou offre pourvue. La structure partenaire en est informée.\n\n\
         Pour protéger les données personnelles, ce message ne contient ni le nom ni \
         l'identifiant de la personne. Ne transférez pas ce lien : il donne accès à la demande.\n\n\
         -- \nrelais, portail des partenaires de France Travail\n",
        expiry = in_paris(mail.link_expires_at).format("%d/%m/%Y"),
        link = mail.link,
    ));
    (subject, body)
}

/// What the mail telling the coach about the answer says.
pub struct AnswerMail<'a> {
    pub reference: &'a str,
    pub offer_id: &'a str,
    pub offer_title: &'a str,
    pub agency_name: &'a str,
    pub answer: &'a str,
    pub reason: Option<&'a str>,
    pub link: &'a str,
}

pub fn answer(mail: &AnswerMail) -> (String, String) {
    let subject = format!(
        "Réponse à votre demande de contact {} : {}",
        mail.reference, mail.answer
    );
    let mut body = format!(
        "Bonjour,\n\n\
         L'agence France Travail {agency} a répondu à votre demande de contact {reference} \
         pour l'offre {offer_id} — {title} :\n\n  « {answer} »\n",
        agency = mail.agency_name,
        reference = mail.reference,
        offer_id = mail.offer_id,
        title = mail.offer_title,
        answer = mail.answer,
    );
    if let Some(reason) = mail.reason {
        body.push_str(&format!("  Motif : {reason}\n"));
    }
    body.push_str(&format!(
        "\nLe détail de la demande est dans relais (connexion nécessaire) :\n{}\n\n\
         -- \nrelais, portail des partenaires de France Travail\n",
        mail.link
    ));
    (subject, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(day: u32, hour: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, day)
            .and_then(|d| d.and_hms_opt(hour, 5, 0))
            .expect("valid date")
    }

    #[test]
    fn the_request_mail() {
        let (subject, body) = request(&RequestMail {
            reference: "DC-3F9A1B2C7E",
            offer_id: "190QKWL",
            offer_title: "Agent d'entretien des espaces verts (H/F)",
            company: Some("Jardins de Provence"),
            agency_name: "Pertuis",
            partner_name: "PLIE du Pays d'Aix",
            coach_name: "Awa Diallo",
            coach_job_title: Some("Accompagnatrice emploi"),
            coach_email: Some("a.diallo@plie-aix.example"),
            sent_at: at(29, 9),
            link: "http://127.0.0.1:8080/agence/demandes/0123456789abcdef",
            link_expires_at: at(29, 9) + chrono::Duration::days(30),
        });
        insta::assert_snapshot!(format!("{subject}\n\n{body}"));
    }

    #[test]
    fn the_answer_mail() {
        let (subject, body) = answer(&AnswerMail {
            reference: "DC-3F9A1B2C7E",
            offer_id: "190QKWL",
            offer_title: "Agent d'entretien des espaces verts (H/F)",
            agency_name: "Pertuis",
            answer: "candidature non retenue",
            reason: Some("un autre candidat a été retenu"),
            link: "http://127.0.0.1:8080/mises-en-relation/4b1c",
        });
        insta::assert_snapshot!(format!("{subject}\n\n{body}"));
    }
}
