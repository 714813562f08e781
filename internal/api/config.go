package api

import (
	"net/http"

	"github.com/as2gate/as2gate/client"
)

// Certificates, stations and partners: what managers configure.

func (a *API) listCertificates(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.ListCertificates(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, list, func(c client.Certificate) string { return c.Name + "\x00" + c.ID })
}

func (a *API) importCertificate(w http.ResponseWriter, r *http.Request) error {
	var in client.CertificateImport
	if err := decodeJSONUpTo(w, r, &in, maxCertificateJSON); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.ImportCertificate(r.Context(), in))
}

func (a *API) generateCertificate(w http.ResponseWriter, r *http.Request) error {
	var in client.CertificateGenerate
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.GenerateCertificate(r.Context(), in))
}

func (a *API) getCertificate(w http.ResponseWriter, r *http.Request) error {
	return answer(w, http.StatusOK)(a.svc.GetCertificate(r.Context(), r.PathValue("id")))
}

func (a *API) certificatePEM(w http.ResponseWriter, r *http.Request) error {
	return writePEM(w)(a.svc.CertificatePEM(r.Context(), r.PathValue("id")))
}

func (a *API) deleteCertificate(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.svc.DeleteCertificate(r.Context(), r.PathValue("id")))
}

func (a *API) listStations(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.ListStations(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, list, func(s client.Station) string { return s.AS2ID })
}

func (a *API) createStation(w http.ResponseWriter, r *http.Request) error {
	var in client.StationInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.CreateStation(r.Context(), in))
}

func (a *API) getStation(w http.ResponseWriter, r *http.Request) error {
	return answer(w, http.StatusOK)(a.svc.GetStation(r.Context(), r.PathValue("ref")))
}

func (a *API) updateStation(w http.ResponseWriter, r *http.Request) error {
	var in client.StationInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.UpdateStation(r.Context(), r.PathValue("ref"), in))
}

func (a *API) deleteStation(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.svc.DeleteStation(r.Context(), r.PathValue("ref")))
}

func (a *API) stationCertificate(w http.ResponseWriter, r *http.Request) error {
	next, err := queryBool(r, "next")
	if err != nil {
		return err
	}
	return writePEM(w)(a.svc.StationCertificatePEM(r.Context(), r.PathValue("ref"), next != nil && *next))
}

func (a *API) promoteStation(w http.ResponseWriter, r *http.Request) error {
	return answer(w, http.StatusOK)(a.svc.PromoteStationCertificate(r.Context(), r.PathValue("ref")))
}

func (a *API) listPartners(w http.ResponseWriter, r *http.Request) error {
	list, err := a.svc.ListPartners(r.Context())
	if err != nil {
		return err
	}
	return writePage(w, r, list, func(p client.Partner) string { return p.AS2ID })
}

func (a *API) createPartner(w http.ResponseWriter, r *http.Request) error {
	var in client.PartnerInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusCreated)(a.svc.CreatePartner(r.Context(), in))
}

func (a *API) getPartner(w http.ResponseWriter, r *http.Request) error {
	return answer(w, http.StatusOK)(a.svc.GetPartner(r.Context(), r.PathValue("ref")))
}

func (a *API) updatePartner(w http.ResponseWriter, r *http.Request) error {
	var in client.PartnerInput
	if err := decodeJSON(w, r, &in); err != nil {
		return err
	}
	return answer(w, http.StatusOK)(a.svc.UpdatePartner(r.Context(), r.PathValue("ref"), in))
}

func (a *API) deletePartner(w http.ResponseWriter, r *http.Request) error {
	return noContent(w, a.svc.DeletePartner(r.Context(), r.PathValue("ref")))
}

// writePEM answers with a certificate in PEM.
func writePEM(w http.ResponseWriter) func(pem []byte, err error) error {
	return func(pem []byte, err error) error {
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		w.Write(pem)
		return nil
	}
}
