#!/bin/bash
# daily_report.sh - Генерирует ежедневный отчет (the brief's script; needs curl and jq).
#
#   PAYSQL_API_URL=http://localhost:3000 ./examples/daily_report.sh
#
# PAYSQL_API_URL is the server of `paysql serve` (default http://localhost:3000); PAYSQL_API_KEY, when set, is
# sent as X-API-Key (needed once keys exist or the server listens beyond loopback).
set -euo pipefail

API_URL="${PAYSQL_API_URL:-http://localhost:3000}/api/query"
AUTH=()
if [ -n "${PAYSQL_API_KEY:-}" ]; then
  AUTH=(-H "X-API-Key: $PAYSQL_API_KEY")
fi

echo "📊 Ежедневный отчет - $(date +%Y-%m-%d)"
echo "======================================"

# Общее количество транзакций сегодня
TODAY=$(curl -sf -X POST "$API_URL" "${AUTH[@]}" \
  -H "Content-Type: application/json" \
  -d '{"question": "Сколько транзакций было сегодня?"}' | jq -r '.data[0].total_transactions')

echo "Транзакций сегодня: $TODAY"

# Объем транзакций сегодня
VOLUME=$(curl -sf -X POST "$API_URL" "${AUTH[@]}" \
  -H "Content-Type: application/json" \
  -d '{"question": "Общий объем транзакций сегодня в KZT"}' | jq -r '.data[0].total_volume')

echo "Объем сегодня: $VOLUME KZT"

# Топ категории
echo ""
echo "Топ 5 категорий сегодня:"
curl -sf -X POST "$API_URL" "${AUTH[@]}" \
  -H "Content-Type: application/json" \
  -d '{"question": "Топ 5 категорий MCC по объему транзакций сегодня"}' | \
  jq -r '.data[] | "\(.mcc_category): \(.total_volume) KZT"'
