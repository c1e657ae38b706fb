#!/usr/bin/env python3
"""Generates otklik-dashboard.json (Grafana): python3 dashboard.py > otklik-dashboard.json

Panel queries use only the otklik_* metrics listed in ../prometheus/alerts.yml; their PromQL is
checked by ../prometheus/check.sh."""
import json
DS = {"type": "prometheus", "uid": "${datasource}"}
panels = []
pid = [0]
y = [0]

def nid():
    pid[0] += 1
    return pid[0]

def row(title):
    panels.append({"type": "row", "title": title, "id": nid(), "collapsed": False,
                   "gridPos": {"h": 1, "w": 24, "x": 0, "y": y[0]}, "panels": []})
    y[0] += 1

def ts(title, targets, x, w=12, h=8, unit="short", desc="", stack=False, extra=None):
    p = {
        "type": "timeseries", "title": title, "id": nid(), "datasource": DS, "description": desc,
        "gridPos": {"h": h, "w": w, "x": x, "y": y[0]},
        "fieldConfig": {"defaults": {"unit": unit, "min": 0,
                                     "custom": {"drawStyle": "line", "lineWidth": 1, "fillOpacity": 10,
                                                "showPoints": "never",
                                                "stacking": {"mode": "normal" if stack else "none", "group": "A"}}},
                        "overrides": []},
        "options": {"legend": {"displayMode": "table", "placement": "bottom", "calcs": ["lastNotNull", "max"]},
                    "tooltip": {"mode": "multi", "sort": "desc"}},
        "targets": [{"datasource": DS, "refId": chr(65 + i), "expr": e, "legendFormat": l, "range": True}
                    for i, (e, l) in enumerate(targets)],
    }
    if extra:
        p.update(extra)
    panels.append(p)

def stat(title, expr, legend, x, w, h=4, unit="short", desc="", thresholds=None, mappings=None):
    panels.append({
        "type": "stat", "title": title, "id": nid(), "datasource": DS, "description": desc,
        "gridPos": {"h": h, "w": w, "x": x, "y": y[0]},
        "fieldConfig": {"defaults": {"unit": unit, "mappings": mappings or [],
                                     "thresholds": {"mode": "absolute", "steps": thresholds or [
                                         {"color": "green", "value": None}]}},
                        "overrides": []},
        "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                    "colorMode": "background", "graphMode": "none", "textMode": "value_and_name",
                    "orientation": "auto", "justifyMode": "auto"},
        "targets": [{"datasource": DS, "refId": "A", "expr": expr, "legendFormat": legend, "instant": True}],
    })

R = "$__rate_interval"

row("Состояние")
stat("Процессы Otklik", 'up{job="otklik"}', "{{instance_stage}}", 0, 8,
     desc="1 — Prometheus получает метрики процесса, 0 — процесс недоступен.",
     thresholds=[{"color": "red", "value": None}, {"color": "green", "value": 1}],
     mappings=[{"type": "value", "options": {"0": {"text": "недоступен"}, "1": {"text": "работает"}}}])
stat("Просрочено обращений", 'sum(otklik_cases_overdue) or vector(0)', "всего", 8, 4,
     thresholds=[{"color": "green", "value": None}, {"color": "red", "value": 1}])
stat("Нарушений сроков за сутки", 'sum(increase(otklik_cases_breaches_total[1d])) or vector(0)', "всего", 12, 4,
     thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}])
stat("Недоставленных за час", 'sum(increase(otklik_dead_letters_total[1h])) or vector(0)', "всего", 16, 4,
     thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1}])
stat("Отставание, записей", 'sum(otklik_consumer_lag) or vector(0)', "всего", 20, 4,
     thresholds=[{"color": "green", "value": None}, {"color": "orange", "value": 1000}, {"color": "red", "value": 10000}])
y[0] += 4

row("Сбор публикаций")
ts("Запросы к соцсетям, в секунду",
   [(f'sum by (network, source_kind, result) (rate(otklik_collector_requests_total[{R}]))',
     "{{network}} / {{source_kind}} / {{result}}")], 0, 8, unit="reqps")
ts("Ошибки сбора, в секунду",
   [(f'sum by (network, source_kind) (rate(otklik_collector_requests_total{{result!="ok"}}[{R}]))',
     "{{network}} / {{source_kind}}")], 8, 8, unit="reqps")
ts("Время с последнего успешного сбора",
   [('time() - otklik_collector_last_success_timestamp_seconds', "{{network}} / {{source_kind}}")],
   16, 8, unit="s", desc="Оповещение OtklikCollectorNoSuccess срабатывает после 30 минут.")
y[0] += 8

row("Этапы конвейера")
ts("Записей на входе этапа, в секунду",
   [(f'sum by (stage) (rate(otklik_stage_records_in_total[{R}]))', "{{stage}}")], 0, 8, unit="ops")
ts("Записей на выходе этапа, в секунду",
   [(f'sum by (stage, topic) (rate(otklik_stage_records_out_total[{R}]))', "{{stage}} → {{topic}}")], 8, 8, unit="ops")
ts("Ошибки обработки, в секунду",
   [(f'sum by (stage) (rate(otklik_stage_records_failed_total[{R}]))', "{{stage}}")], 16, 8, unit="ops")
y[0] += 8
ts("Отставание потребителей (записей)",
   [('sum by (group, topic) (otklik_consumer_lag)', "{{group}} / {{topic}}")], 0, 8,
   desc="Сумма по разделам. Пороги оповещений: 1000 (предупреждение) и 10000 (критично).")
ts("Очередь недоставленных: новых записей",
   [(f'sum by (stage) (increase(otklik_dead_letters_total[{R}]))', "{{stage}}")], 8, 8,
   desc="Записи с ошибкой, отложенные для разбора (ничего не теряется).")
ts("Запись в индекс: длительность пакета",
   [(f'histogram_quantile(0.5, sum by (le) (rate(otklik_index_bulk_duration_seconds_bucket[{R}])))', "p50"),
    (f'histogram_quantile(0.99, sum by (le) (rate(otklik_index_bulk_duration_seconds_bucket[{R}])))', "p99")],
   16, 8, unit="s")
y[0] += 8

row("Обращения и сроки регламента")
ts("Просроченные обращения",
   [('sum by (stage, agency) (otklik_cases_overdue)', "{{agency}} / {{stage}}")], 0, 12, stack=True)
ts("Нарушения сроков за час",
   [('sum by (stage, agency) (increase(otklik_cases_breaches_total[1h]))', "{{agency}} / {{stage}}")], 12, 12)
y[0] += 8

dash = {
    "uid": "otklik-stages",
    "title": "Otklik — конвейер и сроки",
    "description": "Сбор, классификация, индексация и обработка обращений Otklik.",
    "tags": ["otklik"],
    "timezone": "browser",
    "editable": True,
    "graphTooltip": 1,
    "refresh": "30s",
    "schemaVersion": 39,
    "version": 1,
    "time": {"from": "now-6h", "to": "now"},
    "annotations": {"list": []},
    "links": [],
    "templating": {"list": [{
        "name": "datasource", "label": "Источник данных", "type": "datasource",
        "query": "prometheus", "current": {}, "hide": 0, "refresh": 1, "regex": "", "options": []}]},
    "panels": panels,
}
print(json.dumps(dash, ensure_ascii=False, indent=2))
