"""`crmkit pull CRM`: the account's records straight from the CRM's API into raw files
(`crmkit/pull/base.py` says how: paging, rate limits, retries, resuming, the cursor)."""

from crmkit.pull import amocrm, bitrix24, hubspot, pipedrive, salesforce

CRMS = {"amocrm": amocrm, "bitrix24": bitrix24, "hubspot": hubspot, "pipedrive": pipedrive,
        "salesforce": salesforce}  # fmt: skip
