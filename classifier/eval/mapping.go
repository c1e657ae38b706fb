package eval

import "strings"

// The category → topic mappings below are the team's judgement (the sources' own labels
// are Kursk's and St Petersburg's category names). Categories a resident of Saratov could
// not be routed by under the contract (construction permits, e-services, …) are left
// unmapped: those rows are excluded from topic accuracy, and the coverage is printed.

// kurskTopic maps a complaints-kursk category (and its group) to a topic id.
func kurskTopic(category string, group *int) (string, bool) {
	c := strings.ToLower(category)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(c, s) {
				return true
			}
		}
		return false
	}
	switch {
	// waste first: ТБО collection and dumps sit in several groups
	case has("твёрдых бытовых отходов", "твердых бытовых отходов", "жидких бытовых отходов"):
		if has("несанкционированный сброс жидких") {
			return "ecology", true
		}
		return "waste", true
	case has("запахи", "загрязнение водных", "порча земель", "вырубка", "природопользования"):
		return "ecology", true
	case has("культурно-массовых", "памятников"):
		return "culture", true
	case has("остановки общественного транспорта"):
		return "transport", true
	case has("дорог", "тротуар", "светофор", "пешеходные переходы", "искусственные неровности", "парковки", "уборка улиц",
		"наружное освещение"):
		return "roads", true
	case has("детской", "спортивной) площадки", "клумб", "газон", "парков", "скверов",
		"благоустройств", "сорная растительность", "аварийные деревья", "дворовой территории", "наружная реклама",
		"малые архитектурные формы", "внутридворовых"):
		return "landscaping", true
	case has("многоквартирн", "водоснабжение", "водоотведение", "теплоснабжение", "управляющ", "электросет",
		"коммунальн", "жкх", "ливневая канализация", "люков", "инженерных сетей", "лифт", "фасадов"):
		return "housing", true
	case has("безнадзорные животные"):
		return "animals", true
	case has("перевозок", "пригородного", "поездов", "вагонов", "ж/д", "транспорта на маршруте"):
		return "transport", true
	case has("медицин", "здравоохранения", "лекарствен", "вакцин", "сертификат", "пцр", "регистратур",
		"инвалидности", "дневник самонаблюдения"):
		return "health", true
	case has("дошкольн", "школ", "учителей", "воспитателей", "обучение", "дополнительного образования", "сфере образования"):
		return "education", true
	case has("пособий", "социальной поддержки", "социальные льготы", "ветеран", "беженцам", "льготных категорий"):
		return "social", true
	case has("физической культуры", "спортивных", "спортивной площадки"):
		return "sport", true
	case has("торговл", "товара", "ценника", "торгового учреждения", "бизнесу", "заработной платы", "занятости"):
		return "economy", true
	case has("связи", "интернет", "госуслуг", "государственных и муниципальных услуг"):
		return "other", true
	}
	return "", false
}

// spbTopic maps a complaints-spb-nashspb category and reason to a topic id.
func spbTopic(category, reason string) (string, bool) {
	r := strings.ToLower(reason)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(r, s) {
				return true
			}
		}
		return false
	}
	switch category {
	case "Благоустройство":
		switch {
		case has("надписи", "объявлени"):
			return "landscaping", true
		case has("мусор", "урны", "контейнерн"):
			return "waste", true
		case has("остановочных пунктов"):
			return "transport", true
		case has("проезжей части", "тротуар", "автомобильных дорогах", "светофор", "дорожных знаков", "дорожного покрытия"):
			return "roads", true
		}
		return "landscaping", true
	case "Содержание МКД":
		if has("контейнерной площадки") {
			return "waste", true
		}
		return "housing", true
	case "Нарушение правил пользования общим имуществом", "Нарушение порядка пользования общим имуществом",
		"Фасад", "Кровля", "Подвалы", "Водоснабжение", "Водоотведение", "Центральное отопление",
		"Санитарное состояние", "Повреждения или неисправность элементов уличной инфраструктуры":
		return "housing", true
	case "Незаконная информационная и (или) рекламная конструкция", "Состояние рекламных или информационных конструкций":
		return "landscaping", true
	case "Незаконная реализация товаров с торгового оборудования (прилавок, ящик, с земли)":
		return "economy", true
	}
	return "", false
}
